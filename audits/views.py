from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from isms.decorators import allowed_if
from isms.exports import FORMATS, export_response
from isms.roles import can_manage_policy, is_programme_office

from . import access, reports, services
from .filters import FindingListFilter
from .forms import (
    AnswersForm,
    AssignForm,
    CiteForm,
    CorrectiveActionForm,
    CycleForm,
    EvidenceForm,
    FindingForm,
    FromAnswerForm,
    ReasonForm,
)
from .models import Answer, Area, Evidence, Finding


def _messages_from(request, error):
    for message in error.messages:
        messages.error(request, message)


@allowed_if(access.uses_audits)
def cycle_list(request):
    cycles = (
        access.visible_cycles(request.user)
        .select_related("checklist")
        .order_by("-fiscal_year", "-starts_on", "-pk")
    )
    inspections = (
        access.visible_inspections(request.user)
        .select_related("cycle", "department")
        .order_by("-cycle__starts_on", "department__sort_order")[:100]
    )
    return render(
        request,
        "audits/cycle_list.html",
        {
            "cycles": Paginator(cycles.distinct(), 20).get_page(request.GET.get("page")),
            "inspections": inspections,
            "can_open": access.runs_cycles(request.user),
        },
    )


@allowed_if(access.runs_cycles)
def cycle_create(request):
    form = CycleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        departments = list(data.pop("departments"))
        try:
            cycle = services.open_cycle(
                by=request.user, departments=departments, request=request, **data
            )
        except ValidationError as error:
            _messages_from(request, error)
        else:
            messages.success(request, _("Cycle opened."))
            return redirect("audit-cycle", pk=cycle.pk)
    return render(request, "audits/cycle_form.html", {"form": form})


def _visible_cycle(request, pk):
    return get_object_or_404(access.visible_cycles(request.user).distinct(), pk=pk)


@allowed_if(access.uses_audits)
def cycle_detail(request, pk):
    cycle = _visible_cycle(request, pk)
    inspections = (
        access.visible_inspections(request.user)
        .filter(cycle=cycle)
        .select_related("department")
        .annotate(answered=Count("answers"))
        .order_by("department__sort_order")
    )
    assignments = cycle.assignments.select_related("department", "auditor")
    if not is_programme_office(request.user):
        assignments = assignments.filter(
            Q(auditor=request.user) | Q(department__in=access.answering_departments(request.user))
        )
    can_assign = access.runs_cycles(request.user)
    return render(
        request,
        "audits/cycle_detail.html",
        {
            "cycle": cycle,
            "inspections": inspections,
            "items_total": cycle.checklist.items.count(),
            "assignments": assignments,
            "assign_form": AssignForm(cycle=cycle) if can_assign else None,
        },
    )


@require_POST
@allowed_if(access.runs_cycles)
def cycle_assign(request, pk):
    cycle = _visible_cycle(request, pk)
    form = AssignForm(request.POST, cycle=cycle)
    if form.is_valid():
        try:
            services.assign_auditor(
                cycle,
                form.cleaned_data["department"],
                form.cleaned_data["auditor"],
                by=request.user,
                request=request,
            )
            messages.success(request, _("Auditor assigned."))
        except ValidationError as error:
            _messages_from(request, error)
    else:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    return redirect("audit-cycle", pk=pk)


def _visible_inspection(request, pk):
    return get_object_or_404(
        access.visible_inspections(request.user).select_related("cycle__checklist", "department"),
        pk=pk,
    )


@allowed_if(access.uses_audits)
def inspection_detail(request, pk):
    inspection = _visible_inspection(request, pk)
    can_answer = access.answers_for(request.user, inspection) and not inspection.is_locked
    items = list(inspection.cycle.checklist.items.all())
    answers = {
        a.item_id: a
        for a in inspection.answers.select_related("finding").annotate(
            evidence_count=Count("evidence")
        )
    }
    form = None
    if can_answer:
        form = AnswersForm(
            request.POST if request.method == "POST" else None,
            items=items,
            initial={
                key: value
                for item_id, answer in answers.items()
                for key, value in (
                    (f"result-{item_id}", answer.result),
                    (f"comment-{item_id}", answer.comment),
                )
            },
        )
    if request.method == "POST":
        if not can_answer:
            raise PermissionDenied
        if form.is_valid():
            try:
                services.save_answers(inspection, form.answers(), by=request.user, request=request)
                if "submit" in request.POST:
                    services.submit(inspection, by=request.user, request=request)
                    messages.success(request, _("Submitted. The answers are locked."))
                else:
                    messages.success(request, _("Answers saved."))
            except ValidationError as error:
                _messages_from(request, error)
            return redirect("audit-inspection", pk=pk)
        # Shown again with the reasons, and with what the person typed.
        messages.error(request, _("Nothing was saved: correct the answers marked below."))
    groups = []
    for area, label in Area.choices:
        rows = [
            (item, answers.get(item.pk), *(form.fields_for(item) if form else (None, None)))
            for item in items
            if item.area == area
        ]
        if rows:
            groups.append((label, rows))
    auditing = access.audits(request.user, inspection.cycle, inspection.department)
    return render(
        request,
        "audits/inspection_detail.html",
        {
            "inspection": inspection,
            "groups": groups,
            "can_answer": can_answer,
            "auditing": auditing,
            "return_form": ReasonForm() if auditing else None,
            "from_answer_form": FromAnswerForm() if auditing else None,
            "evidence_form": EvidenceForm() if can_answer else None,
        },
    )


@require_POST
@allowed_if(access.uses_audits)
def inspection_return(request, pk):
    inspection = _visible_inspection(request, pk)
    form = ReasonForm(request.POST)
    try:
        services.return_for_correction(
            inspection,
            by=request.user,
            request=request,
            reason=form.cleaned_data["reason"] if form.is_valid() else "",
        )
        messages.success(request, _("Returned for correction."))
    except ValidationError as error:
        _messages_from(request, error)
    return redirect("audit-inspection", pk=pk)


def _visible_answer(request, pk):
    return get_object_or_404(
        Answer.objects.filter(
            inspection__in=access.visible_inspections(request.user)
        ).select_related("inspection__cycle", "inspection__department", "item"),
        pk=pk,
    )


@require_POST
@allowed_if(access.uses_audits)
def answer_to_finding(request, pk):
    answer = _visible_answer(request, pk)
    form = FromAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a severity."))
        return redirect("audit-inspection", pk=answer.inspection_id)
    try:
        finding = services.finding_from_answer(
            answer, by=request.user, request=request, **form.cleaned_data
        )
    except ValidationError as error:
        _messages_from(request, error)
        return redirect("audit-inspection", pk=answer.inspection_id)
    messages.success(request, _("Finding recorded."))
    return redirect("audit-finding", pk=finding.pk)


@require_POST
@allowed_if(access.uses_audits)
def answer_evidence(request, pk):
    answer = _visible_answer(request, pk)
    form = EvidenceForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.attach_evidence(
                form.cleaned_data["file"], by=request.user, answer=answer, request=request
            )
            messages.success(request, _("Evidence attached."))
        except ValidationError as error:
            _messages_from(request, error)
    else:
        messages.error(request, _("Choose a file."))
    return redirect("audit-inspection", pk=answer.inspection_id)


@allowed_if(access.uses_audits)
def finding_list(request):
    findings = (
        access.visible_findings(request.user)
        .select_related("department", "cycle")
        .order_by("-created_at", "-pk")
    )
    filterset = FindingListFilter(request.GET or None, queryset=findings)
    query = request.GET.copy()
    query.pop("page", None)  # the pages keep the filter
    return render(
        request,
        "audits/finding_list.html",
        {
            "page": Paginator(filterset.qs, 50).get_page(request.GET.get("page")),
            "form": filterset.form,
            "query": query.urlencode(),
        },
    )


def _visible_finding(request, pk):
    return get_object_or_404(
        access.visible_findings(request.user).select_related(
            "cycle", "department", "item", "created_by"
        ),
        pk=pk,
    )


@allowed_if(access.uses_audits)
def finding_detail(request, pk):
    finding = _visible_finding(request, pk)
    form = None
    if request.method == "POST":
        form = FindingForm(request.POST, instance=Finding.objects.get(pk=pk))
        if form.is_valid():
            try:
                services.update_finding(
                    finding, by=request.user, request=request, **form.cleaned_data
                )
                messages.success(request, _("Finding saved."))
                return redirect("audit-finding", pk=pk)
            except ValidationError as error:
                _messages_from(request, error)
    return _finding_page(request, finding, form=form)


def _finding_page(request, finding, *, form=None, action_form=None, status=200):
    auditing = access.audits(request.user, finding.cycle, finding.department)
    acting = access.acts_for_department(request.user, finding.department)
    editable = not finding.is_closed
    if auditing and editable and form is None:
        form = FindingForm(instance=finding)
    if acting and editable and action_form is None:
        action_form = CorrectiveActionForm(finding=finding)
    return render(
        request,
        "audits/finding_detail.html",
        {
            "finding": finding,
            "actions": finding.corrective_actions.select_related("owner"),
            "evidence": finding.evidence.all(),
            "revisions": finding.addressed_by.select_related("document"),
            "auditing": auditing,
            "acting": acting and editable,
            "form": form if auditing and editable else None,
            "action_form": action_form if acting and editable else None,
            "reason_form": ReasonForm() if auditing else None,
            "evidence_form": EvidenceForm() if (auditing or acting) else None,
        },
        status=status,
    )


@require_POST
@allowed_if(access.uses_audits)
def finding_action(request, pk, action):
    finding = _visible_finding(request, pk)
    try:
        if action == "corrective-action":
            # Errors come back on the page with what was typed, next to the field.
            form = CorrectiveActionForm(request.POST, finding=finding)
            if form.is_valid():
                try:
                    services.add_corrective_action(
                        finding, by=request.user, request=request, **form.cleaned_data
                    )
                except ValidationError as error:
                    if not hasattr(error, "error_dict"):
                        raise  # about the finding, not a field: a message on the page
                    for field, field_messages in error.message_dict.items():
                        form.add_error(field if field in form.fields else None, field_messages)
            if form.errors:
                return _finding_page(request, finding, action_form=form)
            messages.success(request, _("Corrective action recorded."))
        elif action == "close":
            services.close_finding(finding, by=request.user, request=request)
            messages.success(request, _("Finding closed."))
        elif action == "reopen":
            form = ReasonForm(request.POST)
            services.reopen_finding(
                finding,
                by=request.user,
                request=request,
                reason=form.cleaned_data["reason"] if form.is_valid() else "",
            )
            messages.success(request, _("Finding reopened."))
        elif action == "evidence":
            form = EvidenceForm(request.POST, request.FILES)
            if not form.is_valid():
                messages.error(request, _("Choose a file."))
                return redirect("audit-finding", pk=pk)
            services.attach_evidence(
                form.cleaned_data["file"], by=request.user, finding=finding, request=request
            )
            messages.success(request, _("Evidence attached."))
        else:
            raise Http404
    except ValidationError as error:
        _messages_from(request, error)
    return redirect("audit-finding", pk=pk)


@login_required
def evidence_download(request, pk):
    evidence = get_object_or_404(Evidence.objects.select_related("answer"), pk=pk)
    if not services.can_download(request.user, evidence):
        raise Http404  # the same answer as for a file that does not exist
    return FileResponse(
        evidence.file.open("rb"),
        as_attachment=True,
        filename=evidence.original_name,
        content_type=evidence.content_type,
    )


@allowed_if(access.uses_audits)
def cycle_report(request, pk):
    cycle = _visible_cycle(request, pk)
    report = reports.build(cycle, request.user)
    output = request.GET.get("output")
    if output in FORMATS:
        header, *rows = reports.table(report)
        return export_response(f"cycle-{cycle.pk}", header, rows, output, sheet="report")
    return render(request, "audits/cycle_report.html", {"report": report, "cycle": cycle})


@allowed_if(access.manages_policy_backlog)
def policy_backlog(request):
    findings = (
        Finding.objects.filter(needs_policy_review=True)
        .select_related("department", "cycle")
        .prefetch_related("addressed_by__document")
        .order_by("status", "-created_at")
    )
    if not is_programme_office(request.user):
        findings = findings.filter(pk__in=access.visible_findings(request.user).values("pk"))
    form = None
    if can_manage_policy(request.user):
        form = CiteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.cite_findings(
                    form.cleaned_data["revision"],
                    form.cleaned_data["findings"],
                    by=request.user,
                    request=request,
                )
                messages.success(request, _("The revision now cites the findings."))
                return redirect("audit-policy-backlog")
            except ValidationError as error:
                _messages_from(request, error)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "audits/policy_backlog.html",
        {
            "page": Paginator(findings, 50).get_page(request.GET.get("page")),
            "form": form,
        },
    )


def addressed_findings_panel(request, revision):
    """On a revision's page: the audit findings it addresses (seed 8), those the reader may
    see; nothing for anyone else."""
    findings = (
        access.visible_findings(request.user)
        .filter(addressed_by=revision)
        .select_related("department", "cycle")
    )
    findings = list(findings[:50])
    return {"findings": findings} if findings else None
