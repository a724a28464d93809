from django import forms
from django.utils.translation import gettext_lazy as _

from isms.forms import DateInput


class DeadlineForm(forms.Form):
    deadline = forms.DateField(label=_("Deadline"), widget=DateInput())


class StatusFilterForm(forms.Form):
    STATES = [("", _("Everyone")), ("pending", _("Not yet")), ("done", _("Acknowledged"))]
    section = forms.IntegerField(required=False, widget=forms.HiddenInput)
    state = forms.ChoiceField(label=_("Show"), choices=STATES, required=False)
