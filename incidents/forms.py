import datetime

from django import forms
from django.apps import apps
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from isms.forms import BoundedDateField, DateInput, StrictIntegerField
from isms.models import Department, DepartmentKind, User

from .access import HANDLER_ROLES, nameable_assets
from .models import Category, Decision, EntryKind, Severity, StageStatus, Status


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PastDateTimeField(forms.DateTimeField):
    """A time that has passed, within the years the portal's records carry: a year 9999 or
    1 would overflow the reporting clocks."""

    widget = DateTimeInput

    def __init__(self, **kwargs):
        kwargs.setdefault(
            "input_formats", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
        )
        super().__init__(**kwargs)

    def validate(self, value):
        super().validate(value)
        if value is None:
            return
        if value.year < 2000:
            raise forms.ValidationError(_("Give a time from the year 2000 on."))
        if value > timezone.now() + datetime.timedelta(minutes=5):
            raise forms.ValidationError(_("The time cannot be in the future."))


def units():
    """The units a report may name: the city's sections and departments, in its order."""
    return Department.objects.order_by("sort_order", "code")


class ReportForm(forms.Form):
    title = forms.CharField(
        label=_("What happened"),
        max_length=200,
        help_text=_('In a line: "USB stick lost", "mail sent to the wrong address".'),
    )
    occurred_at = PastDateTimeField(label=_("When it happened (or was noticed)"))
    department = forms.ModelChoiceField(
        label=_("Where (section)"), queryset=Department.objects.none()
    )
    location = forms.CharField(label=_("Place"), max_length=200, required=False)
    personal_data = forms.BooleanField(label=_("Personal data may be involved"), required=False)
    my_number = forms.BooleanField(label=_("My Number data may be involved"), required=False)
    description = forms.CharField(
        label=_("Details"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("What you saw, what you did, who else knows. Leave out passwords."),
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = units()
        if user is not None and not self.is_bound:
            self.initial.setdefault("department", user.section_id)
            self.initial.setdefault(
                "occurred_at", timezone.localtime().replace(second=0, microsecond=0)
            )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    widget = MultipleFileInput

    def clean(self, data, initial=None):
        if isinstance(data, list | tuple):
            return [super(FilesField, self).clean(item, initial) for item in data]
        return [super().clean(data, initial)] if data else []


class AttachForm(forms.Form):
    files = FilesField(label=_("Files (photos, logs, letters)"), required=False)


def handlers():
    return (
        User.objects.filter(is_active=True, role_assignments__role__in=HANDLER_ROLES)
        .distinct()
        .order_by("username")
    )


class TriageForm(forms.Form):
    category = forms.ModelChoiceField(label=_("Category"), queryset=Category.objects.all())
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    owner = forms.ModelChoiceField(label=_("Owner"), queryset=User.objects.none())
    detected_at = PastDateTimeField(
        label=_("Detected"),
        required=False,
        help_text=_("When the city first knew; the report's time if left empty."),
    )
    personal_data = forms.BooleanField(label=_("Personal data involved"), required=False)
    my_number = forms.BooleanField(label=_("My Number data involved"), required=False)
    affected_people = StrictIntegerField(
        label=_("People affected"), required=False, min_value=0, max_value=100_000_000
    )
    network_tier = forms.ModelChoiceField(label=_("Network tier"), queryset=None, required=False)
    affected_assets = forms.ModelMultipleChoiceField(
        label=_("Affected assets"),
        queryset=None,
        required=False,
        help_text=_("The assets registered by the section and the units below it."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, incident, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = handlers()
        self.fields["network_tier"].queryset = apps.get_model("assets", "NetworkTier").objects.all()
        self.fields["affected_assets"].queryset = nameable_assets(incident)
        if not self.is_bound:
            self.initial.update(
                category=incident.category_id,
                severity=incident.severity,
                owner=incident.owner_id,
                detected_at=incident.detected_at and timezone.localtime(incident.detected_at),
                personal_data=incident.personal_data,
                my_number=incident.my_number,
                affected_people=incident.affected_people,
                network_tier=incident.network_tier_id,
                affected_assets=[a.pk for a in incident.affected_assets.all()],
            )


class MoveForm(forms.Form):
    to = forms.ChoiceField(label=_("Next step"), choices=Status.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when dismissing: why it is a false alarm."),
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("Why reopen"), widget=forms.Textarea(attrs={"rows": 2}))


class EntryForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[(k, label) for k, label in EntryKind.choices if k != EntryKind.STATUS],
    )
    text = forms.CharField(label=_("Entry"), widget=forms.Textarea(attrs={"rows": 3}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label=_("Report required?"),
        choices=[
            (Decision.REQUIRED, Decision.REQUIRED.label),
            (Decision.NOT_REQUIRED, Decision.NOT_REQUIRED.label),
        ],
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the report is not required."),
    )


class StageForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Report status"),
        choices=[(s, label) for s, label in StageStatus.choices if s != StageStatus.PENDING],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)


class ReviewForm(forms.Form):
    causes = forms.CharField(label=_("Causes"), widget=forms.Textarea(attrs={"rows": 3}))
    what_worked = forms.CharField(
        label=_("What worked"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    change_1 = forms.CharField(label=_("What to change (1)"), required=False, max_length=2000)
    policy_1 = forms.BooleanField(label=_("Put (1) on the policy review backlog"), required=False)
    change_2 = forms.CharField(label=_("What to change (2)"), required=False, max_length=2000)
    policy_2 = forms.BooleanField(label=_("Put (2) on the policy review backlog"), required=False)
    change_3 = forms.CharField(label=_("What to change (3)"), required=False, max_length=2000)
    policy_3 = forms.BooleanField(label=_("Put (3) on the policy review backlog"), required=False)

    def changes(self):
        return [
            (self.cleaned_data.get(f"change_{n}", ""), self.cleaned_data.get(f"policy_{n}", False))
            for n in (1, 2, 3)
        ]


class DrillForm(forms.Form):
    held_on = BoundedDateField(label=_("Held on"), widget=DateInput())
    scenario = forms.CharField(label=_("Scenario"), max_length=300)
    participants = forms.CharField(
        label=_("Participants"), widget=forms.Textarea(attrs={"rows": 2})
    )
    lessons = forms.CharField(
        label=_("Lessons"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class FilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("All")), *Status.choices]
    )
    severity = forms.ChoiceField(
        label=_("Severity"), required=False, choices=[("", _("All")), *Severity.choices]
    )
    category = forms.ModelChoiceField(
        label=_("Category"), required=False, queryset=Category.objects.all(), empty_label=_("All")
    )
    department = forms.ModelChoiceField(
        label=_("Department"),
        required=False,
        queryset=Department.objects.none(),
        empty_label=_("All"),
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        # Only departments the person may see incidents of: a filter names no other.
        self.fields["department"].queryset = departments.filter(
            kind=DepartmentKind.DEPARTMENT
        ).order_by("sort_order", "code")
