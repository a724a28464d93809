"""The policy review backlog (isms.review): what the policy should change because of audit
findings, incidents and risks, each item shown to those who may read the record it came
from. The CISO's office cites items in a revision being prepared."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from .. import review
from ..decorators import allowed_if
from ..forms import BacklogFilterForm, CiteForm
from ..models import PolicyRevision
from ..roles import can_manage_policy


def _labelled(items):
    for item in items:
        item.kind_label = review.source_label(item.source_kind)
    return items


@allowed_if(review.reads_backlog)
def backlog(request):
    can_cite = can_manage_policy(request.user)
    if request.method == "POST" and not can_cite:
        raise PermissionDenied
    visible = review.visible_items(request.user)
    items = visible
    filters = BacklogFilterForm(request.GET or None)
    if filters.is_valid():
        if filters.cleaned_data["kind"]:
            items = items.filter(source_kind=filters.cleaned_data["kind"])
        if filters.cleaned_data["uncited"]:
            items = items.filter(cited_by__isnull=True)
    items = items.select_related("department").prefetch_related(
        Prefetch(
            "cited_by",
            queryset=PolicyRevision.objects.select_related("document").order_by(
                "document__code", "number"
            ),
        )
    )
    page = Paginator(items, 50).get_page(request.GET.get("page"))
    _labelled(page)
    form = None
    if can_cite:
        form = CiteForm(request.POST or None, items=visible, shown=page)
        if request.method == "POST" and form.is_valid():
            try:
                review.cite(
                    form.cleaned_data["revision"],
                    form.cleaned_data["items"],
                    by=request.user,
                    request=request,
                )
            except ValidationError as error:
                # The one refusal left once the form is valid: the revision was published.
                form.add_error("revision", error.messages)
            else:
                messages.success(request, _("The revision now cites the items."))
                return redirect(request.get_full_path())
    query = request.GET.copy()
    query.pop("page", None)  # the pages keep the filter
    return render(
        request,
        "review/backlog.html",
        {
            "page": page,
            "filters": filters,
            "query": query.urlencode(),
            "form": form,
            "can_cite": can_cite,
        },
    )


def revision_panel(request, revision):
    """On a revision's pages: the backlog items it addresses, those the reader may see;
    nothing for anyone else."""
    items = list(
        review.visible_items(request.user)
        .filter(cited_by=revision)
        .select_related("department")
        .order_by("raised_at", "pk")[:50]
    )
    return {"items": _labelled(items)} if items else None
