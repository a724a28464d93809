from django import forms
from django.utils.translation import gettext_lazy as _

from isms.forms import BoundedDateField, DateInput, IdField


class DeadlineForm(forms.Form):
    deadline = BoundedDateField(label=_("Deadline"), widget=DateInput())


class StatusFilterForm(forms.Form):
    STATES = [("", _("Everyone")), ("pending", _("Not yet")), ("done", _("Acknowledged"))]
    section = IdField(required=False, widget=forms.HiddenInput)
    state = forms.ChoiceField(label=_("Show"), choices=STATES, required=False)
