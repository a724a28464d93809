from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from isms import evidence as evidence_store
from isms.decorators import allowed_if
from isms.exports import FORMATS, cell_bool, cell_datetime, export_response
from isms.forms import add_service_errors
from isms.models import Department, DocumentKind, PolicyDocument, subtree_ids

from . import access, services
from .forms import (
    AttachForm,
    DecisionForm,
    DrillForm,
    EntryForm,
    FilterForm,
    MoveForm,
    ReopenForm,
    ReportForm,
    ReviewForm,
    StageForm,
    TriageForm,
)
from .models import (
    Attachment,
    Contact,
    Drill,
    EntryKind,
    Obligation,
    ObligationStage,
    PostIncidentReview,
    Status,
)


def _visible_or_404(request, pk):
    incident = (
        access.visible_incidents(request.user)
        .select_related("department", "category", "owner", "reported_by", "network_tier")
        .filter(pk=pk)
        .first()
    )
    if incident is None:
        raise Http404
    return incident


# --- reporting ---------------------------------------------------------------------------


@allowed_if(access.reports)
def report(request):
    form = ReportForm(request.POST or None, user=request.user)
    files = AttachForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid() and files.is_valid():
        try:
            incident = services.report(
                request.user,
                files=files.cleaned_data["files"],
                request=request,
                **form.cleaned_data,
            )
        except ValidationError as error:
            add_service_errors(
                files if "file" in getattr(error, "message_dict", {}) else form, error
            )
        else:
            messages.success(
                request,
                _("Thank you. The incident response team has been told and will contact you."),
            )
            return redirect("incident-detail", incident.pk)
    return render(request, "incidents/report.html", {"form": form, "files": files})


# --- lists -------------------------------------------------------------------------------


def _departments_filterable(user):
    if access.reads_all(user):
        return Department.objects.all()
    if access.is_head(user):
        return Department.objects.filter(pk__in=access.headed_units(user))
    return Department.objects.none()


EXPORT_HEADER = [
    "Number",
    "Title",
    "Status",
    "Severity",
    "Category",
    "Department",
    "Occurred",
    "Reported",
    "Personal data",
    "My Number",
    "People affected",
    "Owner",
    "Closed",
]


def _export(incidents, output):
    header = [_(h) for h in EXPORT_HEADER]

    def rows():
        for incident in incidents.iterator(chunk_size=1000):
            yield [
                incident.number,
                incident.title,
                incident.get_status_display(),
                incident.get_severity_display() if incident.severity else "",
                incident.category.name if incident.category else "",
                incident.department.name,
                cell_datetime(incident.occurred_at),
                cell_datetime(incident.reported_at),
                cell_bool(incident.personal_data),
                cell_bool(incident.my_number),
                incident.affected_people if incident.affected_people is not None else "",
                str(incident.owner) if incident.owner else "",
                cell_datetime(incident.closed_at),
            ]

    return export_response("incidents", header, rows(), output, sheet=_("Incidents"))


@allowed_if(access.reports)
def incident_list(request):
    user = request.user
    # The department joined, the category prefetched for the page's rows only: joined, it
    # was read for every row skipped before a deep page (bench/incident_lists.py).
    incidents = access.visible_incidents(user).select_related("department")
    handling = access.sees_handling(user)
    form = FilterForm(request.GET or None, departments=_departments_filterable(user))
    if handling and form.is_valid():
        data = form.cleaned_data
        if data["status"]:
            incidents = incidents.filter(status=data["status"])
        if data["severity"]:
            incidents = incidents.filter(severity=data["severity"])
        if data["category"]:
            incidents = incidents.filter(category=data["category"])
        if data["department"]:
            incidents = incidents.filter(department_id__in=subtree_ids([data["department"].pk]))
    params = request.GET.copy()
    params.pop("page", None)
    output = params.pop("format", [None])[0]
    if handling and output in FORMATS and not form.errors:
        return _export(
            incidents.select_related("category", "owner").order_by("-reported_at", "-pk"), output
        )
    return render(
        request,
        "incidents/incident_list.html",
        {
            "page": Paginator(
                incidents.prefetch_related("category").order_by("-reported_at", "-pk"), 50
            ).get_page(request.GET.get("page")),
            "form": form if handling else None,
            "handling": handling,
            "reads_plan": access.reads_all(user),
            "query": params.urlencode(),
        },
    )


# --- one incident ------------------------------------------------------------------------


def _detail(request, incident, **forms):
    user = request.user
    details = access.reads_details(user, incident)
    handles = access.handles(user)
    timeline = incident.timeline.select_related("author")
    if not details:
        # The reporter sees the progress of their report, not the handling's notes.
        timeline = timeline.filter(kind=EntryKind.STATUS)
    context = {
        "incident": incident,
        "details": details,
        "handles": handles,
        "timeline": timeline,
        "attachments": incident.attachments.all(),
        "error_form": next((f for f in forms.values() if f is not None and f.errors), None),
    }
    if details:
        obligations = list(
            incident.obligations.select_related("rule__authority", "decided_by").prefetch_related(
                Prefetch(
                    "stages",
                    queryset=ObligationStage.objects.order_by("stage_rule__order"),
                )
            )
        )
        if handles:
            # One form per obligation and per report, each with its own ids (docs/ui.md).
            for obligation in obligations:
                obligation.form = DecisionForm(auto_id=f"id_decision-{obligation.pk}-%s")
                for stage in obligation.stages.all():
                    stage.form = StageForm(auto_id=f"id_stage-{stage.pk}-%s")
        context["obligations"] = obligations
        context["assets"] = incident.affected_assets.all()
        context["post_review"] = (
            PostIncidentReview.objects.filter(incident=incident).prefetch_related("lessons").first()
        )
    if handles:
        context["contacts"] = Contact.objects.select_related("person", "deputy")
        context["triage_form"] = forms.get("triage_form") or (
            TriageForm(incident=incident) if incident.is_open else None
        )
        moves = sorted(services.MOVES.get(incident.status, set()), key=list(Status).index)
        if incident.is_serious and incident.status == Status.RECOVERED:
            moves = [m for m in moves if m != Status.CLOSED]
        move_form = forms.get("move_form") or MoveForm()
        move_form.fields["to"].choices = [(m, Status(m).label) for m in moves]
        context["move_form"] = move_form if moves else None
        context["reopen_form"] = forms.get("reopen_form") or (
            ReopenForm() if not incident.is_open else None
        )
        context["entry_form"] = forms.get("entry_form") or EntryForm()
        context["review_form"] = forms.get("review_form") or (
            ReviewForm() if incident.status == Status.RECOVERED else None
        )
    if handles or (incident.reported_by_id == user.pk and incident.is_open):
        context["attach_form"] = forms.get("attach_form") or AttachForm()
    return render(request, "incidents/incident_detail.html", context)


@allowed_if(access.reports)
def incident_detail(request, pk):
    return _detail(request, _visible_or_404(request, pk))


ACTIONS = {
    "triage": "triage_form",
    "move": "move_form",
    "reopen": "reopen_form",
    "entry": "entry_form",
    "attach": "attach_form",
    "review": "review_form",
}


@require_POST
@allowed_if(access.reports)
def incident_action(request, pk, action):
    incident = _visible_or_404(request, pk)
    if action not in ACTIONS:
        raise Http404
    user = request.user
    if action == "attach":
        form = AttachForm(request.POST, request.FILES)
    elif not access.handles(user):
        raise PermissionDenied
    elif action == "triage":
        form = TriageForm(request.POST, incident=incident)
    elif action == "move":
        form = MoveForm(request.POST)
    elif action == "reopen":
        form = ReopenForm(request.POST)
    elif action == "entry":
        form = EntryForm(request.POST)
    else:
        form = ReviewForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            if action == "triage":
                services.triage(incident, by=user, request=request, **data)
                messages.success(request, _("Triage saved."))
            elif action == "move":
                services.move(incident, data["to"], by=user, note=data["note"], request=request)
                messages.success(request, _("The incident moved on."))
            elif action == "reopen":
                services.reopen(incident, by=user, reason=data["reason"], request=request)
                messages.success(request, _("The incident is open again."))
            elif action == "entry":
                services.add_entry(incident, by=user, kind=data["kind"], text=data["text"])
                messages.success(request, _("Added to the timeline."))
            elif action == "attach":
                if not data["files"]:
                    form.add_error("files", _("Choose a file."))
                    raise ValidationError([])
                for uploaded in data["files"]:
                    services.attach(incident, uploaded, by=user, request=request)
                messages.success(request, _("Files attached."))
            else:
                services.record_review(
                    incident,
                    by=user,
                    causes=data["causes"],
                    what_worked=data["what_worked"],
                    changes=form.changes(),
                    request=request,
                )
                messages.success(request, _("Post-incident review recorded."))
            return redirect("incident-detail", incident.pk)
        except ValidationError as error:
            if error.messages:
                add_service_errors(form, error)
    return _detail(request, incident, **{ACTIONS[action]: form})


@require_POST
@allowed_if(access.handles)
def obligation_decide(request, pk):
    obligation = get_object_or_404(Obligation.objects.select_related("incident", "rule"), pk=pk)
    form = DecisionForm(request.POST)
    if form.is_valid():
        try:
            services.decide(
                obligation,
                form.cleaned_data["decision"],
                by=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
            messages.success(request, _("Decision recorded."))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, f"{obligation.rule}: {message}")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, f"{obligation.rule}: {message}")
    return redirect(
        reverse("incident-detail", args=[obligation.incident_id]) + f"#obligation-{obligation.pk}"
    )


@require_POST
@allowed_if(access.handles)
def stage_advance(request, pk):
    stage = get_object_or_404(
        ObligationStage.objects.select_related("obligation__incident", "obligation__rule"), pk=pk
    )
    form = StageForm(request.POST)
    incident_id = stage.obligation.incident_id
    if form.is_valid():
        try:
            services.advance_stage(
                stage,
                form.cleaned_data["status"],
                by=request.user,
                note=form.cleaned_data["note"],
                request=request,
            )
            messages.success(request, _("Report updated."))
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, f"{stage.name}: {message}")
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, f"{stage.name}: {message}")
    return redirect(
        reverse("incident-detail", args=[incident_id]) + f"#obligation-{stage.obligation_id}"
    )


@allowed_if(access.reports)
def attachment_download(request, pk):
    attachment = get_object_or_404(Attachment, pk=pk)
    if not services.can_download(request.user, attachment):
        raise Http404  # the same answer as for a file that does not exist
    return evidence_store.download_response(attachment)


# --- the emergency response plan ---------------------------------------------------------


@allowed_if(access.reads_all)
def plan(request):
    form = None
    if access.handles(request.user):
        form = DrillForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.record_drill(by=request.user, request=request, **form.cleaned_data)
                messages.success(request, _("Drill recorded."))
                return redirect("incident-plan")
            except ValidationError as error:
                add_service_errors(form, error)
    elif request.method == "POST":
        raise PermissionDenied
    return render(
        request,
        "incidents/plan.html",
        {
            "contacts": Contact.objects.select_related("person", "deputy"),
            "drills": Paginator(Drill.objects.select_related("recorded_by"), 20).get_page(
                request.GET.get("page")
            ),
            "documents": PolicyDocument.objects.filter(kind=DocumentKind.EMERGENCY_PLAN),
            "form": form,
        },
    )
