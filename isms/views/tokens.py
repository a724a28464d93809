"""The person's own API tokens: the list, the issue form (the key shown once, in the answer
to the form, never stored where it could be shown again) and revocation."""

import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from .. import tokens
from ..forms import StrictIntegerField
from ..models import ApiToken


class IssueTokenForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Token name"),
        max_length=100,
        help_text=gettext_lazy("What the token is for, e.g. the script that uses it."),
    )
    lifetime_days = StrictIntegerField(
        label=gettext_lazy("Lifetime (days)"),
        min_value=1,
        max_value=settings.API_TOKEN_MAX_LIFETIME_DAYS,
        initial=settings.API_TOKEN_LIFETIME_DAYS,
    )


@login_required
def token_list(request):
    form = IssueTokenForm(request.POST or None)
    issued = None
    if request.method == "POST" and form.is_valid():
        try:
            token, key = tokens.issue_token(
                request.user,
                name=form.cleaned_data["name"],
                lifetime=datetime.timedelta(days=form.cleaned_data["lifetime_days"]),
                request=request,
            )
        except ValidationError as error:
            for message in error.messages:
                form.add_error(None, message)
        except PermissionDenied as error:
            form.add_error(None, str(error))
        else:
            issued = {"token": token, "key": key}
            form = IssueTokenForm()
    user_tokens = ApiToken.objects.filter(user=request.user).order_by("-created_at", "-id")
    return render(
        request,
        "api_tokens.html",
        {"form": form, "issued": issued, "tokens": user_tokens},
        status=400 if form.is_bound and form.errors else 200,
    )


@require_POST
@login_required
def token_revoke(request, pk):
    # Another person's token is not found: whether it exists is not theirs to learn.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    tokens.revoke_token(token, by=request.user, request=request)
    messages.success(request, _("The API token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("api-tokens")
