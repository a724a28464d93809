from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from isms.forms import BoundedDateField, DateInput, strict_formfield
from isms.models import Department
from isms.pickers import PersonField

from .models import ChecklistVersion, Cycle, Finding, Result, Severity
from .owners import possible_owners


class CycleForm(forms.ModelForm):
    departments = forms.ModelMultipleChoiceField(
        label=_("Departments in scope"),
        queryset=Department.objects.exclude(kind="section").order_by("sort_order", "code"),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Cycle
        formfield_callback = strict_formfield
        fields = ["name", "kind", "fiscal_year", "checklist", "starts_on", "due_on"]
        widgets = {"starts_on": DateInput(), "due_on": DateInput()}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["checklist"].queryset = ChecklistVersion.objects.all()
        self.fields["checklist"].empty_label = None

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("starts_on")
            and cleaned.get("due_on")
            and (cleaned["due_on"] < cleaned["starts_on"])
        ):
            self.add_error("due_on", _("The due date comes after the start."))
        return cleaned


class AssignForm(forms.Form):
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    auditor = forms.CharField(label=_("Auditor (user name)"), max_length=150)

    def __init__(self, *args, cycle, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = cycle.departments.all()

    def clean_auditor(self):
        user = (
            get_user_model()
            .objects.filter(username=self.cleaned_data["auditor"].strip(), is_active=True)
            .first()
        )
        if user is None:
            raise forms.ValidationError(_("No active user with this user name."))
        return user


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class FindingForm(forms.ModelForm):
    class Meta:
        model = Finding
        formfield_callback = strict_formfield
        fields = [
            "title",
            "area",
            "severity",
            "description",
            "recommendation",
            "needs_policy_review",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "recommendation": forms.Textarea(attrs={"rows": 3}),
        }


class FromAnswerForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    title = forms.CharField(label=_("Title"), required=False, max_length=200)
    recommendation = forms.CharField(
        label=_("Recommendation"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class CorrectiveActionForm(forms.Form):
    owner = PersonField(label=_("Owner (user name)"))
    plan = forms.CharField(label=_("Plan"), widget=forms.Textarea(attrs={"rows": 3}))
    due_on = BoundedDateField(label=_("Due"), widget=DateInput())

    def __init__(self, *args, finding, **kwargs):
        super().__init__(*args, **kwargs)
        # Only people who may read the finding: the owner is reminded of its title and plan.
        self.fields["owner"].people = possible_owners(finding.department)


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("Evidence file"))


RESULT_CHOICES = [("", "—")] + list(Result.choices)


class AnswersForm(forms.Form):
    """The answers to a self-inspection, a result and a comment per checklist item
    (fields result-<item id> and comment-<item id>); the page of one part gives the items of
    that part only. An item left without a result is not answered; a comment typed without
    a result is refused rather than dropped, so that nothing typed is lost."""

    def __init__(self, *args, items, answered=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            # Once answered, an item cannot be emptied again from the page.
            choices = list(Result.choices) if item.pk in answered else RESULT_CHOICES
            self.fields[f"result-{item.pk}"] = forms.ChoiceField(
                label=_("Result of %(number)s") % {"number": item.number},
                choices=choices,
                required=False,
                widget=forms.Select(
                    attrs={"form": "answers", "data-testid": f"result-{item.number}"}
                ),
            )
            self.fields[f"comment-{item.pk}"] = forms.CharField(
                label=_("Comment on %(number)s") % {"number": item.number},
                required=False,
                widget=forms.Textarea(attrs={"form": "answers", "rows": 2}),
            )

    def clean(self):
        cleaned = super().clean()
        for item in self.items:
            result = cleaned.get(f"result-{item.pk}")
            comment = (cleaned.get(f"comment-{item.pk}") or "").strip()
            if result == "" and comment:
                self.add_error(
                    f"result-{item.pk}", _("Choose a result for the comment to be saved.")
                )
        return cleaned

    def fields_for(self, item):
        return self[f"result-{item.pk}"], self[f"comment-{item.pk}"]

    def answers(self):
        """{item id: (result, comment)} for the items given a result."""
        return {
            item.pk: (
                self.cleaned_data[f"result-{item.pk}"],
                self.cleaned_data[f"comment-{item.pk}"].strip(),
            )
            for item in self.items
            if self.cleaned_data[f"result-{item.pk}"]
        }
