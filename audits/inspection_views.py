"""The self-inspection pages, in parts (issue 12): a summary of the answers per
countermeasure area with the items still unanswered, one page per area that saves only that
area's answers, and submission from the summary only, after a confirmation step.

Who sees and answers an inspection is decided by audits.access exactly as before; saving and
submitting go through audits.services as the API does.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from isms.decorators import allowed_if
from isms.forms import add_service_errors

from . import access, services
from .forms import AnswersForm, EvidenceForm, FromAnswerForm, ReasonForm
from .models import Answer, CycleKind, Inspection, Result, SubmissionStatus
from .progress import Progress, progress_of


def _visible_inspection(request, pk) -> Inspection:
    return get_object_or_404(
        access.visible_inspections(request.user).select_related("cycle__checklist", "department"),
        pk=pk,
    )


def _can_answer(user, inspection: Inspection) -> bool:
    return access.answers_for(user, inspection) and not inspection.is_locked


def _answers(inspection: Inspection, area: str | None = None) -> dict[int, Answer]:
    """{item id: answer}, each with its finding (if any) and its number of evidence files."""
    answers = inspection.answers.select_related("finding").annotate(
        evidence_count=Count("evidence")
    )
    if area is not None:
        answers = answers.filter(item__area=area)
    return {answer.item_id: answer for answer in answers}


def _first_with_errors(*forms):
    return next((form for form in forms if form is not None and form.errors), None)


# The summary ------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD"])
@allowed_if(access.uses_audits)
def inspection_detail(request, pk):
    return _summary_page(request, _visible_inspection(request, pk))


def _summary_page(request, inspection, *, return_form=None, finding_form=None, status=200):
    """The answers per part, the unanswered items (each linked to its place on its part's
    page), and the only way to submit. finding_form: a bound FromAnswerForm that came back
    with errors, shown again beside its answer."""
    progress = progress_of(inspection)
    answers = _answers(inspection)
    auditing = access.audits(request.user, inspection.cycle, inspection.department)
    if auditing:
        for answer in answers.values():
            if answer.result in (Result.NOT_COMPLIANT, Result.PARTLY) and not hasattr(
                answer, "finding"
            ):
                answer.finding_form = (
                    finding_form
                    if finding_form is not None and finding_form.answer_id == answer.pk
                    else FromAnswerForm(auto_id=f"id_finding-{answer.pk}-%s")
                )
    if auditing and inspection.status == SubmissionStatus.SUBMITTED and return_form is None:
        return_form = ReasonForm()
    return render(
        request,
        "audits/inspection_detail.html",
        {
            "inspection": inspection,
            "progress": progress,
            "parts": [
                (part, [(item, answers.get(item.pk)) for item in part.items])
                for part in progress.parts
            ],
            "can_answer": _can_answer(request.user, inspection),
            "auditing": auditing,
            "return_form": return_form if inspection.status == SubmissionStatus.SUBMITTED else None,
            "error_form": _first_with_errors(return_form, finding_form),
        },
        status=status,
    )


# One part ---------------------------------------------------------------------------------


def _part_or_404(progress: Progress, area: str):
    part = progress.part(area)
    if part is None:
        raise Http404
    return part


def _part_url(inspection, part, anchor=""):
    return reverse("audit-inspection-area", args=[inspection.pk, part.code]) + anchor


@allowed_if(access.uses_audits)
def inspection_area(request, pk, area):
    """One countermeasure area: its items, answered and saved on their own. Saving keeps the
    other parts' answers as they are (services.save_answers changes only the items given)."""
    inspection = _visible_inspection(request, pk)
    progress = progress_of(inspection)
    part = _part_or_404(progress, area)
    can_answer = _can_answer(request.user, inspection)
    form = None
    if request.method == "POST":
        if not can_answer:
            raise PermissionDenied
        answers = _answers(inspection, part.code)
        form = AnswersForm(request.POST, items=part.items, answered=set(answers))
        if form.is_valid():
            try:
                services.save_answers(inspection, form.answers(), by=request.user, request=request)
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(
                    request, _("The answers of “%(part)s” are saved.") % {"part": part.label}
                )
                following = progress.after(part) if "next" in request.POST else part
                if following is None:
                    return redirect("audit-inspection", pk=pk)
                return redirect(_part_url(inspection, following))
    return _part_page(request, inspection, progress, part, form=form)


def _part_page(request, inspection, progress, part, *, form=None, evidence_form=None):
    """form: the part's answers as posted (bound, with errors); evidence_form: a bound
    evidence form that came back with errors (its answer_id says whose)."""
    answers = _answers(inspection, part.code)
    can_answer = _can_answer(request.user, inspection)
    if can_answer and form is None:
        initial = {}
        for item_id, answer in answers.items():
            initial[f"result-{item_id}"] = answer.result
            initial[f"comment-{item_id}"] = answer.comment
        form = AnswersForm(items=part.items, answered=set(answers), initial=initial)
    rows = []
    for item in part.items:
        answer = answers.get(item.pk)
        fields = form.fields_for(item) if can_answer else (None, None)
        upload = None
        if can_answer and answer is not None:
            upload = (
                evidence_form
                if evidence_form is not None and evidence_form.answer_id == answer.pk
                else EvidenceForm(auto_id=f"id_evidence-{answer.pk}-%s")
            )
        rows.append((item, answer, *fields, upload))
    return render(
        request,
        "audits/inspection_area.html",
        {
            "inspection": inspection,
            "progress": progress,
            "part": part,
            "previous": progress.before(part),
            "next": progress.after(part),
            "rows": rows,
            "can_answer": can_answer,
            "form": form if can_answer else None,
            "error_form": _first_with_errors(form if can_answer else None, evidence_form),
        },
    )


# Submitting, after a confirmation ---------------------------------------------------------


@require_http_methods(["GET", "POST"])
@allowed_if(access.uses_audits)
def inspection_submit(request, pk):
    """Shows what submitting does; submits only on a POST carrying confirmed=yes."""
    inspection = _visible_inspection(request, pk)
    if not access.answers_for(request.user, inspection):
        raise PermissionDenied
    summary = redirect("audit-inspection", pk=pk)
    if inspection.is_locked:
        messages.info(request, _("These answers have already been submitted."))
        return summary
    progress = progress_of(inspection)
    if progress.unanswered:
        messages.error(
            request,
            _("%(count)s items are not answered yet.") % {"count": len(progress.unanswered)},
        )
        return summary
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        try:
            services.submit(inspection, by=request.user, request=request)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Submitted. The answers are locked."))
        return summary
    return render(
        request,
        "confirm_action.html",
        {
            "title": _("Submit the answers of %(department)s?")
            % {"department": inspection.department.name},
            "intro": _("All %(count)s items of the checklist are answered.")
            % {"count": progress.total},
            "consequences": _submit_consequences(inspection),
            "action": reverse("audit-inspection-submit", args=[pk]),
            "hidden": {},
            "confirm_label": _("Submit the answers"),
            "cancel_url": reverse("audit-inspection", args=[pk]),
        },
    )


def _submit_consequences(inspection) -> list[str]:
    if inspection.cycle.kind == CycleKind.AUDIT:
        sent = _("The answers are recorded as the result of the audit.")
    else:
        auditors = [
            str(a.auditor)
            for a in inspection.cycle.assignments.filter(
                department=inspection.department
            ).select_related("auditor")
        ]
        if auditors:
            sent = _("The answers are sent for review to the auditor: %(names)s.") % {
                "names": "、".join(auditors)
            }
        else:
            sent = _("The answers are sent for review to the CISO's office.")
    return [
        sent,
        _(
            "Nobody can change them any more, unless the auditor returns them for "
            "correction with a reason."
        ),
        _("The submission is recorded in the audit trail under your name."),
    ]


# What the auditor does on the summary; evidence on a part's page --------------------------


@require_POST
@allowed_if(access.uses_audits)
def inspection_return(request, pk):
    inspection = _visible_inspection(request, pk)
    form = ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.return_for_correction(
                inspection, by=request.user, request=request, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Returned for correction."))
            return redirect("audit-inspection", pk=pk)
    elif not access.audits(request.user, inspection.cycle, inspection.department):
        raise PermissionDenied
    return _summary_page(request, inspection, return_form=form)


def _visible_answer(request, pk) -> Answer:
    return get_object_or_404(
        Answer.objects.filter(
            inspection__in=access.visible_inspections(request.user)
        ).select_related("inspection__cycle__checklist", "inspection__department", "item"),
        pk=pk,
    )


@require_POST
@allowed_if(access.uses_audits)
def answer_to_finding(request, pk):
    answer = _visible_answer(request, pk)
    inspection = answer.inspection
    if not access.audits(request.user, inspection.cycle, inspection.department):
        raise PermissionDenied
    form = FromAnswerForm(request.POST, auto_id=f"id_finding-{answer.pk}-%s")
    form.answer_id = answer.pk
    if form.is_valid():
        try:
            finding = services.finding_from_answer(
                answer, by=request.user, request=request, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Finding recorded."))
            return redirect("audit-finding", pk=finding.pk)
    return _summary_page(request, inspection, finding_form=form)


@require_POST
@allowed_if(access.uses_audits)
def answer_evidence(request, pk):
    answer = _visible_answer(request, pk)
    inspection = answer.inspection
    form = EvidenceForm(request.POST, request.FILES, auto_id=f"id_evidence-{answer.pk}-%s")
    form.answer_id = answer.pk
    progress = progress_of(inspection)
    part = _part_or_404(progress, answer.item.area)
    if form.is_valid():
        try:
            services.attach_evidence(
                form.cleaned_data["file"], by=request.user, answer=answer, request=request
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Evidence attached."))
            return redirect(_part_url(inspection, part, f"#item-{answer.item_id}"))
    elif not _can_answer(request.user, inspection):
        raise PermissionDenied
    return _part_page(request, inspection, progress, part, evidence_form=form)
