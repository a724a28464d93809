"""The status page's filters (who has and has not acknowledged), shared by the page and its
CSV. Everything runs in SQL on the people the viewer may see."""

from typing import TYPE_CHECKING

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from isms.models import User
from isms.pickers import VisibleChoiceFilter

from . import access

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

    from .services import AcknowledgedAt

    # The people of services.people_status(), with the time each acknowledged.
    People = QuerySet[WithAnnotations[User, AcknowledgedAt]]


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

    def filter_state(self, people: "People", name: str, value: str) -> "People":
        # acknowledged_at is the annotation of services.people_status(). The django-stubs
        # plugin checks an annotation's isnull lookup against the annotation's own type
        # instead of bool, so it refuses this true one.
        return people.filter(acknowledged_at__isnull=value == "pending")  # type: ignore[misc]
