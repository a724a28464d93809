from django import forms
from django.utils.translation import gettext_lazy as _

from isms.forms import BoundedDateField, DateInput


class DeadlineForm(forms.Form):
    deadline = BoundedDateField(label=_("Deadline"), widget=DateInput())


class StatusOnForm(forms.Form):
    """The status page's "as it stood on" day (the staff of that day, isms.models.Posting)."""

    on = BoundedDateField(label=_("As it stood on"), required=False, widget=DateInput())
