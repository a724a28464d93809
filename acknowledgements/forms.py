from django import forms
from django.utils.translation import gettext_lazy as _

from isms.forms import BoundedDateField, DateInput


class DeadlineForm(forms.Form):
    deadline = BoundedDateField(label=_("Deadline"), widget=DateInput())
