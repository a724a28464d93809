"""The programme admin's pages of people and organisation: personnel batches (upload,
preview, schedule, cancel, history), the organisation tree with its members and history,
and a person's postings. Every action goes through isms.personnel.services, as the API's
and the management command's do; anyone else gets 403 (anonymous visitors the login page).
"""

import datetime
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from ..decorators import allowed_if
from ..forms import BoundedDateField, DateInput, add_service_errors
from ..models import (
    BatchKind,
    BatchStatus,
    Department,
    Posting,
    Role,
    UnitChange,
    User,
)
from ..personnel import services

ERRORS_SHOWN = 500
REFRESH_SECONDS = 2

may_manage = allowed_if(services.can_manage_people)


class UploadForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("What the file holds"),
        choices=BatchKind.choices,
        initial=BatchKind.STAFF,
        widget=forms.RadioSelect,
    )
    file = forms.FileField(
        label=gettext_lazy("File (CSV in UTF-8 or Shift_JIS, or xlsx)"),
    )
    effective_on = BoundedDateField(
        label=gettext_lazy("Effective date"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy(
            "The day the changes take effect, e.g. 1 April. Leave empty to decide after "
            "the preview."
        ),
    )

    def clean_file(self):
        return services.check_upload(self.cleaned_data["file"])


class ScheduleForm(forms.Form):
    effective_on = BoundedDateField(label=gettext_lazy("Effective date"), widget=DateInput())


@may_manage
def batch_list(request):
    # Bound on every POST, even one with no field at all: refused with its errors (400).
    form = UploadForm(request.POST, request.FILES) if request.method == "POST" else UploadForm()
    if request.method == "POST" and form.is_valid():
        try:
            batch = services.upload_batch(
                form.cleaned_data["file"],
                form.cleaned_data["kind"],
                by=request.user,
                effective_on=form.cleaned_data["effective_on"],
                request=request,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return redirect("personnel-batch", pk=batch.pk)
    batches = Paginator(services.visible_batches(request.user).defer("rows"), 20).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "personnel/batch_list.html",
        {"form": form, "batches": batches},
        status=400 if form.is_bound and form.errors else 200,
    )


PREVIEW_SECTIONS = [
    ("people_created", gettext_lazy("People who join")),
    ("people_moved", gettext_lazy("People who move")),
    ("roles", gettext_lazy("Roles given and taken back")),
    ("people_leaving", gettext_lazy("People who leave")),
    ("people_returning", gettext_lazy("People who return")),
    ("people_updated", gettext_lazy("People whose details change")),
    ("units_created", gettext_lazy("Units created")),
    ("units_changed", gettext_lazy("Units renamed or moved")),
    ("units_merged", gettext_lazy("Units merged")),
    ("units_ended", gettext_lazy("Units ended")),
]
ROLE_LABELS = dict(Role.choices)


@may_manage
def batch_detail(request, pk):
    batch = get_object_or_404(services.visible_batches(request.user).defer("rows"), pk=pk)
    preview = batch.preview or {}
    counts = preview.get("counts", {})
    sections = []
    for key, label in PREVIEW_SECTIONS:
        items = preview.get(key, [])
        if key == "roles":
            items = [
                {
                    **item,
                    "given": [(ROLE_LABELS.get(r, r), u) for r, u in item.get("given", [])],
                    "taken": [(ROLE_LABELS.get(r, r), u) for r, u in item.get("taken", [])],
                }
                for item in items
            ]
        elif key in ("people_leaving", "units_ended", "units_merged"):
            items = [_with_dates(item, ("last_day", "until")) for item in items]
        elif key == "people_updated":
            items = [
                {**item, "fields": [_field_label(User, name) for name in item.get("fields", [])]}
                for item in items
            ]
        elif key == "units_changed":
            items = [
                {
                    **item,
                    "changes": {
                        _field_label(Department, name): values
                        for name, values in item.get("changes", {}).items()
                    },
                }
                for item in items
            ]
        sections.append({"key": key, "label": label, "items": items})
    response = render(
        request,
        "personnel/batch_detail.html",
        {
            "batch": batch,
            "counts": counts,
            "sections": sections,
            "errors": batch.errors[:ERRORS_SHOWN],
            "schedule_form": ScheduleForm(
                initial={"effective_on": batch.effective_on or timezone.localdate()}
            ),
            "today": timezone.localdate(),
        },
    )
    if batch.status == BatchStatus.CHECKING:
        response["Refresh"] = str(REFRESH_SECONDS)
    return response


def _with_dates(item, keys):
    """ISO dates of a stored preview as dates, for the era filter of the page."""
    item = dict(item)
    for key in keys:
        if item.get(key):
            try:
                item[key] = datetime.date.fromisoformat(item[key])
            except (TypeError, ValueError):
                pass
    return item


def _field_label(model, name):
    """A column's name as the reader's language says it (its verbose name)."""
    try:
        return str(model._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


@require_POST
@may_manage
def batch_schedule(request, pk):
    batch = get_object_or_404(services.visible_batches(request.user).defer("rows"), pk=pk)
    form = ScheduleForm(request.POST)
    if form.is_valid():
        try:
            services.schedule_batch(
                batch.pk, form.cleaned_data["effective_on"], by=request.user, request=request
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            when = form.cleaned_data["effective_on"]
            if when <= timezone.localdate():
                messages.success(request, _("The batch is being applied now."))
            else:
                messages.success(request, _("The batch is scheduled."))
            return redirect("personnel-batch", pk=batch.pk)
    for message in [m for errors in form.errors.values() for m in errors]:
        messages.error(request, message)
    return redirect("personnel-batch", pk=batch.pk)


@require_POST
@may_manage
def batch_cancel(request, pk):
    batch = get_object_or_404(services.visible_batches(request.user).defer("rows"), pk=pk)
    try:
        services.cancel_batch(batch.pk, by=request.user, request=request)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("The batch is cancelled; it will not be applied."))
    return redirect("personnel-batch", pk=batch.pk)


@may_manage
def organisation(request):
    """The tree: every unit with the number of its active members, ended units marked.
    Three queries whatever the size of the city."""
    members = dict(
        User.objects.filter(is_active=True, section__isnull=False)
        .order_by()
        .values_list("section_id")
        .annotate(n=Count("pk"))
    )
    units = list(Department.objects.select_related("successor").order_by("sort_order", "code"))
    children = {}
    for unit in units:
        unit.member_count = members.get(unit.pk, 0)
        children.setdefault(unit.parent_id, []).append(unit)
    rows = []

    def walk(parent_id, depth):
        for unit in children.get(parent_id, []):
            rows.append((unit, depth))
            walk(unit.pk, depth + 1)

    walk(None, 0)
    return render(
        request,
        "personnel/organisation.html",
        {"rows": rows, "today": timezone.localdate(), "total": sum(members.values())},
    )


@may_manage
def unit_detail(request, code):
    unit = get_object_or_404(Department.objects.select_related("parent", "successor"), code=code)
    # PostgreSQL cannot compare with a NUL character (a 500): it is dropped from the search.
    search = (request.GET.get("q") or "").replace("\x00", "").strip()[:100]
    people = User.objects.filter(section=unit, is_active=True).order_by("staff_number", "pk")
    if search:
        people = people.filter(
            Q(display_name__icontains=search)
            | Q(username__icontains=search)
            | Q(staff_number__icontains=search)
        )
    page = Paginator(people, 50).get_page(request.GET.get("page"))
    history = UnitChange.objects.filter(unit=unit).select_related("other_unit", "batch")[:100]
    return render(
        request,
        "personnel/unit_detail.html",
        {
            "unit": unit,
            "people": page,
            "history": history,
            "search": search,
            "query": urlencode({"q": search}) if search else "",
        },
    )


@may_manage
def person_postings(request, pk):
    person = get_object_or_404(User.objects.select_related("section"), pk=pk)
    postings = Posting.objects.filter(user=person).select_related("unit", "batch")
    return render(
        request, "personnel/person_postings.html", {"person": person, "postings": postings}
    )
