"""The status page's filters (who has and has not acknowledged), shared by the page and its
CSV. Everything runs in SQL on the people the viewer may see."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from isms.pickers import VisibleChoiceFilter

from . import access


class PeopleStatusFilter(django_filters.FilterSet):
    # A section the viewer does not oversee is refused like one that does not exist.
    section = VisibleChoiceFilter(
        field_name="section", visible=access.sections_in_scope, widget=forms.HiddenInput
    )
    state = django_filters.ChoiceFilter(
        label=_("Show"),
        choices=[("pending", _("Not yet")), ("done", _("Acknowledged"))],
        empty_label=_("Everyone"),
        method="filter_state",
    )

    def filter_state(self, people, name, value):
        # acknowledged_at is the annotation of services.people_status().
        return people.filter(acknowledged_at__isnull=value == "pending")
