"""The person's own account: password change and reset (isms.local_signin) and the sessions
they are signed in with (isms.sessions)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from .. import local_signin, sessions
from ..forms import id_or_404


@login_required
def account(request):
    return render(
        request,
        "account/index.html",
        {
            "has_local_password": local_signin.has_local_password(request.user),
            "session_count": sessions.active_sessions(request.user).count(),
        },
    )


class PasswordChangeView(auth_views.PasswordChangeView):
    form_class = local_signin.PasswordChangeForm
    template_name = "registration/password_change_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not local_signin.has_local_password(request.user):
            raise PermissionDenied(
                gettext_lazy("Your password is kept by the city's directory or identity provider.")
            )
        return super().dispatch(request, *args, **kwargs)

    def form_valid(self, form):
        # Django gives the session a new key as it keeps it signed in (update_session_auth_hash).
        previous_key = self.request.session.session_key
        response = super().form_valid(form)
        local_signin.password_changed(form.user, self.request, previous_key=previous_key)
        return response


class PasswordResetView(auth_views.PasswordResetView):
    form_class = local_signin.PasswordResetForm
    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"

    def get_extra_email_context(self):
        return {"portal_base_url": settings.PORTAL_BASE_URL.rstrip("/")}

    def form_valid(self, form):
        if local_signin.reset_requests_exceeded(form.cleaned_data["email"], self.request):
            form.add_error(
                None,
                _("Too many reset requests for this address. Try again later."),
            )
            return self.render_to_response(self.get_context_data(form=form), status=429)
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    form_class = local_signin.SetPasswordForm
    template_name = "registration/password_reset_confirm.html"

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        # A link mailed before LOCAL_PASSWORDS switched this person's password off.
        if user is not None and not local_signin.local_password_allowed(user):
            return None
        return user

    def form_valid(self, form):
        response = super().form_valid(form)
        local_signin.password_reset(form.user, self.request)
        return response


password_change = PasswordChangeView.as_view()
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="registration/password_change_done.html"
)
password_reset = PasswordResetView.as_view()
password_reset_done = auth_views.PasswordResetDoneView.as_view(
    template_name="registration/password_reset_done.html"
)
password_reset_confirm = PasswordResetConfirmView.as_view(
    success_url=reverse_lazy("password_reset_complete")
)
password_reset_complete = auth_views.PasswordResetCompleteView.as_view(
    template_name="registration/password_reset_complete.html"
)


@login_required
def session_list(request):
    rows = sessions.active_sessions(request.user)
    current = request.session.session_key
    listed = [
        {
            "row": row,
            "device": sessions.describe_user_agent(row.user_agent),
            "current": row.session_key == current,
        }
        for row in rows
    ]
    return render(
        request,
        "account/sessions.html",
        {"sessions": listed, "others": sum(not item["current"] for item in listed)},
    )


@require_POST
@login_required
def session_end(request, pk):
    pk = id_or_404(pk)
    if not sessions.end_session(request.user, pk, request=request):
        raise Http404(_("No such session."))
    messages.success(request, _("The session was signed out."))
    return redirect("account-sessions")


@require_POST
@login_required
def sessions_end_others(request):
    ended = sessions.end_other_sessions(request.user, request=request)
    messages.success(
        request,
        ngettext(
            "Signed out of %(count)d other session.",
            "Signed out of %(count)d other sessions.",
            ended,
        )
        % {"count": ended},
    )
    return redirect("account-sessions")
