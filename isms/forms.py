from django import forms
from django.utils.translation import gettext_lazy as _

from .models import PolicyRevision


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class RevisionForm(forms.ModelForm):
    class Meta:
        model = PolicyRevision
        fields = ["title", "effective_date", "is_material", "change_summary", "body"]
        widgets = {
            "effective_date": DateInput(),
            "body": forms.Textarea(attrs={"rows": 24}),
            "change_summary": forms.Textarea(attrs={"rows": 3}),
        }


class ReturnForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}))


class PublishForm(forms.Form):
    deadline = forms.DateField(
        label=_("Acknowledgement deadline"),
        required=False,
        widget=DateInput(),
        help_text=_("Leave empty for the default period."),
    )


class AuditFilterForm(forms.Form):
    action = forms.CharField(label=_("Action"), required=False)
    actor = forms.CharField(label=_("Actor (user name)"), required=False)
    target_type = forms.CharField(label=_("Target type"), required=False)
    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("Until"), required=False, widget=DateInput())
