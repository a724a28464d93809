from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from isms import evidence as evidence_store
from isms import review, second_factor
from isms.decorators import allowed_if
from isms.exports import FORMATS, export_response
from isms.forms import add_service_errors
from isms.models import PolicyRevision
from isms.roles import is_programme_office

from . import access, heatmap, reports, services
from .filters import FindingListFilter
from .forms import (
    AssignForm,
    CorrectiveActionForm,
    CycleForm,
    EvidenceForm,
    FindingForm,
    ReasonForm,
)
from .models import Evidence, Finding


def _messages_from(request, error):
    for message in error.messages:
        messages.error(request, message)


def _first_with_errors(*forms):
    return next((form for form in forms if form is not None and form.errors), None)


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
            add_service_errors(form, error)
        else:
            messages.success(request, _("Cycle opened."))
            return redirect("audit-cycle", pk=cycle.pk)
    return render(request, "audits/cycle_form.html", {"form": form})


def _visible_cycle(request, pk):
    return get_object_or_404(access.visible_cycles(request.user).distinct(), pk=pk)


@allowed_if(access.uses_audits)
def cycle_detail(request, pk):
    return _cycle_page(request, _visible_cycle(request, pk))


def _cycle_page(request, cycle, *, assign_form=None):
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
            "assign_form": (assign_form or AssignForm(cycle=cycle)) if can_assign else None,
            "error_form": _first_with_errors(assign_form),
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
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Auditor assigned."))
            return redirect("audit-cycle", pk=pk)
    return _cycle_page(request, cycle, assign_form=form)


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
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Finding saved."))
                return redirect("audit-finding", pk=pk)
    return _finding_page(request, finding, form=form)


def _finding_page(
    request, finding, *, form=None, action_form=None, reason_form=None, evidence_form=None
):
    """The finding with the forms its reader may use; a form given here came back with
    errors and is shown again as it was posted, with the error summary at the top."""
    auditing = access.audits(request.user, finding.cycle, finding.department)
    acting = access.acts_for_department(request.user, finding.department)
    editable = not finding.is_closed
    if not editable:
        # A closed finding offers neither form: the refusal is said in a message instead.
        for refused in (form, action_form):
            for error in refused.non_field_errors() if refused is not None else ():
                messages.error(request, error)
    if auditing and editable and form is None:
        form = FindingForm(instance=finding)
    if acting and editable and action_form is None:
        action_form = CorrectiveActionForm(finding=finding)
    form = form if auditing and editable else None
    action_form = action_form if acting and editable else None
    reason_form = (reason_form or ReasonForm()) if auditing else None
    evidence_form = (evidence_form or EvidenceForm()) if (auditing or acting) else None
    return render(
        request,
        "audits/finding_detail.html",
        {
            "finding": finding,
            "actions": finding.corrective_actions.select_related("owner"),
            "evidence": finding.evidence.all(),
            "revisions": PolicyRevision.objects.filter(
                pk__in=review.items_of(finding).values("cited_by")
            ).select_related("document"),
            "auditing": auditing,
            "acting": acting and editable,
            "form": form,
            "action_form": action_form,
            "reason_form": reason_form,
            "evidence_form": evidence_form,
            "error_form": _first_with_errors(action_form, form, reason_form, evidence_form),
        },
    )


def _confirm_close(request, finding):
    url = reverse("audit-finding", args=[finding.pk])
    return render(
        request,
        "confirm_action.html",
        {
            "title": _("Verify and close “%(finding)s”?") % {"finding": finding.title},
            "intro": _("Close the finding once its corrective actions are verified."),
            "consequences": [
                _("The finding is marked closed: its corrective actions count as verified."),
                _(
                    "It can no longer be edited, and no corrective action can be added; "
                    "only an auditor can reopen it, with a reason."
                ),
                _("The closing is recorded in the audit trail under your name."),
            ],
            "action": reverse("audit-finding-action", args=[finding.pk, "close"]),
            "hidden": {},
            "confirm_label": _("Verify and close"),
            "cancel_url": url,
        },
    )


@require_http_methods(["GET", "POST"])
@allowed_if(access.uses_audits)
def finding_action(request, pk, action):
    """The actions on a finding. A form that fails comes back on the page with what was
    typed and the error beside its field (docs/ui.md, "Errors"); closing asks first (its
    question is also a page of its own, reached by GET)."""
    if request.method == "GET" and action != "close":
        return HttpResponseNotAllowed(["POST"])
    finding = _visible_finding(request, pk)
    if action == "corrective-action":
        form = CorrectiveActionForm(request.POST, finding=finding)
        if form.is_valid():
            try:
                services.add_corrective_action(
                    finding, by=request.user, request=request, **form.cleaned_data
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Corrective action recorded."))
                return redirect("audit-finding", pk=pk)
        elif not access.acts_for_department(request.user, finding.department):
            raise PermissionDenied
        return _finding_page(request, finding, action_form=form)
    if action == "close":
        if not access.audits(request.user, finding.cycle, finding.department):
            raise PermissionDenied
        if request.POST.get("confirmed") != "yes":
            # The step-up comes before the question, so that it brings the auditor back to
            # the finding's page rather than to this address, which takes only a POST.
            second_factor.require_recent(request, request.user)
            return _confirm_close(request, finding)
        try:
            services.close_finding(finding, by=request.user, request=request)
        except ValidationError as error:
            _messages_from(request, error)
        else:
            messages.success(request, _("Finding closed."))
        return redirect("audit-finding", pk=pk)
    if action == "reopen":
        form = ReasonForm(request.POST)
        if form.is_valid():
            try:
                services.reopen_finding(
                    finding, by=request.user, request=request, reason=form.cleaned_data["reason"]
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Finding reopened."))
                return redirect("audit-finding", pk=pk)
        elif not access.audits(request.user, finding.cycle, finding.department):
            raise PermissionDenied
        return _finding_page(request, finding, reason_form=form)
    if action == "evidence":
        form = EvidenceForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                services.attach_evidence(
                    form.cleaned_data["file"], by=request.user, finding=finding, request=request
                )
            except ValidationError as error:
                add_service_errors(form, error)
            else:
                messages.success(request, _("Evidence attached."))
                return redirect("audit-finding", pk=pk)
        elif not (
            access.audits(request.user, finding.cycle, finding.department)
            or access.acts_for_department(request.user, finding.department)
        ):
            raise PermissionDenied
        return _finding_page(request, finding, evidence_form=form)
    raise Http404


@login_required
def evidence_download(request, pk):
    evidence = get_object_or_404(Evidence.objects.select_related("answer"), pk=pk)
    if not services.can_download(request.user, evidence):
        raise Http404  # the same answer as for a file that does not exist
    return evidence_store.download_response(evidence)


@allowed_if(access.uses_audits)
def cycle_report(request, pk):
    cycle = _visible_cycle(request, pk)
    report = reports.build(cycle, request.user)
    output = request.GET.get("output")
    if output in FORMATS:
        header, *rows = reports.table(report)
        sheet = pgettext("sheet", "Cycle report")
        return export_response(f"cycle-{cycle.pk}", header, rows, output, sheet=sheet)
    return render(
        request,
        "audits/cycle_report.html",
        {
            "report": report,
            "cycle": cycle,
            "heat_rows": heatmap.rows(report),
            "legend": heatmap.legend(),
        },
    )
