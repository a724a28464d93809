"""The CISO's office drafts, reviews, approves and publishes revisions here."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from .. import policy_actions
from ..decorators import allowed_if
from ..exceptions import WorkflowError
from ..forms import PublishForm, ReturnForm, RevisionForm
from ..models import Audience, PolicyDocument, PolicyRevision, RevisionStatus
from ..models.policy import FROZEN_STATUSES, local_date
from ..policy_diff import readable_diff
from ..portal import rendered_revision_panels
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
    revision = get_object_or_404(PolicyRevision, pk=pk)
    return _manage_page(request, revision)


def _manage_page(request, revision, publish_form=None):
    """The revision's page; with a publish form that came back with errors, those errors
    and what was typed."""
    revision = PolicyRevision.objects.select_related(
        "document", "author", "approved_by", "published_by"
    ).get(pk=revision.pk)
    current = revision.document.current_revision()
    compare_to = current if current and current.pk != revision.pk else revision.previous_published()
    return render(
        request,
        "manage/revision_manage.html",
        {
            "revision": revision,
            "document": revision.document,
            "compare_to": compare_to,
            "diff": readable_diff(compare_to.body, revision.body) if compare_to else None,
            "can_approve": can_approve_revision(request.user, revision),
            "can_publish": can_publish_revision(request.user),
            "return_form": ReturnForm(),
            "publish_form": publish_form or PublishForm(),
            "Status": RevisionStatus,
            "panels": rendered_revision_panels(request, revision),
        },
    )


@policy_manager_required
def revision_action(request, pk, action):
    revision = get_object_or_404(PolicyRevision, pk=pk)
    if action == "publish":
        return _publish(request, revision)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
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
        else:
            raise PermissionDenied
    except WorkflowError as error:
        for message in error.messages:
            messages.error(request, message)
    return redirect("manage-revision", pk=revision.pk)


def _publish(request, revision):
    """Publishing cannot be undone: a GET or a first POST shows what will happen (after
    the same checks as publishing, step-up included); only a POST with confirmed=yes
    publishes. The other workflow steps can all be undone by returning the revision to
    draft, so they take one click."""
    confirmed = request.method == "POST" and request.POST.get("confirmed") == "yes"
    form = PublishForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        return _manage_page(request, revision, publish_form=form)
    deadline = form.cleaned_data.get("deadline")
    try:
        if confirmed:
            policy_actions.publish(revision, by=request.user, deadline=deadline, request=request)
            messages.success(request, _("Published."))
            return redirect("manage-revision", pk=revision.pk)
        preview = policy_actions.publication_preview(
            revision, by=request.user, deadline=deadline, request=request
        )
    except WorkflowError as error:
        if "deadline" in getattr(error, "error_dict", {}):
            form.add_error("deadline", error.error_dict["deadline"])
            return _manage_page(request, revision, publish_form=form)
        for message in error.messages:
            messages.error(request, message)
        return redirect("manage-revision", pk=revision.pk)
    return render(
        request,
        "confirm_action.html",
        {
            "title": _("Publish %(name)s?") % {"name": preview.revision.full_name},
            "intro": _("Check what publishing does before you confirm."),
            "consequences": _publication_consequences(preview),
            "action": request.path,
            "hidden": {"deadline": deadline.isoformat() if deadline else ""},
            "confirm_label": _("Publish"),
            "cancel_url": reverse("manage-revision", args=[revision.pk]),
        },
    )


def _publication_consequences(preview):
    revision = preview.revision
    if preview.audience == Audience.DEPARTMENTS:
        separator = pgettext("list separator", ", ")
        reach = ngettext(
            "It will be published to %(count)s person in %(departments)s.",
            "It will be published to %(count)s people in %(departments)s.",
            preview.people,
        ) % {"count": preview.people, "departments": separator.join(preview.departments)}
    elif preview.audience == Audience.PUBLIC:
        reach = ngettext(
            "It will be published on the public policy page for everyone, and to all "
            "%(count)s member of staff.",
            "It will be published on the public policy page for everyone, and to all "
            "%(count)s members of staff.",
            preview.people,
        ) % {"count": preview.people}
    else:
        reach = ngettext(
            "It will be published to all %(count)s member of staff.",
            "It will be published to all %(count)s members of staff.",
            preview.people,
        ) % {"count": preview.people}
    date = local_date(revision.effective_date)
    if preview.in_force_at_once:
        force = _(
            "It comes into force at once (effective %(date)s) and replaces the revision in force."
        ) % {"date": date}
    else:
        force = _("It comes into force on %(date)s; until then the revision in force stays.") % {
            "date": date
        }
    lines = [
        reach,
        force,
        _(
            "Once published it can never be changed or withdrawn: a correction needs a new "
            "revision."
        ),
    ]
    if preview.deadline is None:
        lines.append(_("An editorial change: nobody is asked to acknowledge it."))
    else:
        lines.append(
            _(
                "An acknowledgement campaign opens: everyone in the audience is asked to "
                "acknowledge it by %(date)s."
            )
            % {"date": local_date(preview.deadline)}
        )
    return lines
