"""The filters of the audit pages: a page reads its query string only through a FilterSet,
so a bad value is a field error shown with the form (the API's filters are in api.py)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Finding, FindingStatus


class FindingListFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        label=_("Status"), choices=FindingStatus.choices, empty_label="—"
    )

    class Meta:
        model = Finding
        fields = []
