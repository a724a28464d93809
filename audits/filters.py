"""The filters of the audit pages and API: both read their query string only through a
FilterSet, so a bad value is a field error shown with the form on a page and a 400 naming
the parameter in the API."""

import django_filters
from django.utils.translation import gettext_lazy as _

from isms.pickers import VisibleChoiceFilter

from . import access
from .models import Answer, Finding, FindingStatus, Inspection


class FindingListFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=FindingStatus.choices, empty_label="—"
    )

    class Meta:
        model = Finding
        fields = []


# The API's filters. Ids of cycles and inspections the caller may not see are refused like
# unknown ids.
class InspectionFilter(django_filters.FilterSet):
    cycle = VisibleChoiceFilter(visible=access.visible_cycles)

    class Meta:
        model = Inspection
        fields = ["cycle", "status"]


class AnswerFilter(django_filters.FilterSet):
    inspection = VisibleChoiceFilter(visible=access.visible_inspections)

    class Meta:
        model = Answer
        fields = ["inspection", "result"]


class FindingFilter(django_filters.FilterSet):
    cycle = VisibleChoiceFilter(visible=access.visible_cycles)

    class Meta:
        model = Finding
        fields = ["cycle", "status", "severity", "needs_policy_review"]
