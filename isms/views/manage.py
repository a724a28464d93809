"""The CISO's office drafts, reviews, approves and publishes revisions here."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import policy_actions
from ..decorators import allowed_if
from ..exceptions import WorkflowError
from ..forms import PublishForm, ReturnForm, RevisionForm
from ..models import PolicyDocument, PolicyRevision, RevisionStatus
from ..models.policy import FROZEN_STATUSES
from ..portal import rendered_revision_panels
from ..rendering import line_diff
from ..roles import can_approve_revision, can_manage_policy, can_publish_revision

policy_manager_required = allowed_if(can_manage_policy)


@policy_manager_required
def manage_index(request):
    documents = PolicyDocument.objects.order_by("kind", "code")
    in_progress = (
        PolicyRevision.objects.exclude(status__in=FROZEN_STATUSES)
        .select_related("document", "author")
        .order_by("document__code", "-number")
    )
    return render(
        request,
        "manage/index.html",
        {"documents": documents, "in_progress": in_progress},
    )


@policy_manager_required
def revision_new(request, code):
    document = get_object_or_404(PolicyDocument, code=code)
    if request.method == "POST":
        form = RevisionForm(request.POST)
        if form.is_valid():
            revision = policy_actions.create_draft(
                document, by=request.user, request=request, **form.cleaned_data
            )
            messages.success(request, _("Draft saved."))
            return redirect("manage-revision", pk=revision.pk)
    else:
        base = document.current_revision() or document.revisions.order_by("-number").first()
        form = RevisionForm(
            initial={
                "title": base.title if base else document.title,
                "body": base.body if base else "",
                "is_material": True,
            }
        )
    return render(request, "manage/revision_form.html", {"document": document, "form": form})


@policy_manager_required
def revision_edit(request, pk):
    revision = get_object_or_404(PolicyRevision.objects.select_related("document"), pk=pk)
    if not revision.is_editable:
        messages.error(request, _("Only a draft can be edited."))
        return redirect("manage-revision", pk=pk)
    if request.method == "POST":
        form = RevisionForm(request.POST, instance=PolicyRevision.objects.get(pk=pk))
        if form.is_valid():
            policy_actions.update_draft(
                revision, by=request.user, request=request, **form.cleaned_data
            )
            messages.success(request, _("Draft saved."))
            return redirect("manage-revision", pk=pk)
    else:
        form = RevisionForm(instance=revision)
    return render(
        request,
        "manage/revision_form.html",
        {"document": revision.document, "revision": revision, "form": form},
    )


@policy_manager_required
def revision_manage(request, pk):
    revision = get_object_or_404(
        PolicyRevision.objects.select_related("document", "author", "approved_by", "published_by"),
        pk=pk,
    )
    current = revision.document.current_revision()
    compare_to = current if current and current.pk != revision.pk else revision.previous_published()
    return render(
        request,
        "manage/revision_manage.html",
        {
            "revision": revision,
            "document": revision.document,
            "compare_to": compare_to,
            "rows": line_diff(compare_to.body, revision.body) if compare_to else None,
            "can_approve": can_approve_revision(request.user, revision),
            "can_publish": can_publish_revision(request.user),
            "return_form": ReturnForm(),
            "publish_form": PublishForm(),
            "Status": RevisionStatus,
            "panels": rendered_revision_panels(request, revision),
        },
    )


@require_POST
@policy_manager_required
def revision_action(request, pk, action):
    revision = get_object_or_404(PolicyRevision, pk=pk)
    try:
        if action == "submit":
            policy_actions.submit_for_review(revision, by=request.user, request=request)
            messages.success(request, _("Submitted for review."))
        elif action == "approve":
            policy_actions.approve(revision, by=request.user, request=request)
            messages.success(request, _("Approved."))
        elif action == "return":
            form = ReturnForm(request.POST)
            reason = form.cleaned_data["reason"] if form.is_valid() else ""
            policy_actions.return_to_draft(
                revision, by=request.user, reason=reason, request=request
            )
            messages.success(request, _("Returned to the author as a draft."))
        elif action == "publish":
            form = PublishForm(request.POST)
            if not form.is_valid():
                raise WorkflowError(_("Enter a valid deadline."))
            policy_actions.publish(
                revision,
                by=request.user,
                deadline=form.cleaned_data.get("deadline"),
                request=request,
            )
            messages.success(request, _("Published."))
        else:
            raise PermissionDenied
    except WorkflowError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("manage-revision", pk=pk)
