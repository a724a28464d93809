"""The audit trail's filters: the page reads its query string only through this
FilterSet, so a bad value is a field error shown with the form (see assets/filters.py for
the register's)."""

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from .forms import BoundedDateField, DateInput
from .models import AuditEvent

# The id of the <datalist> that offers the known actions, with their labels, as the
# action field is typed (the field still matches any beginning: "revision" finds them all).
ACTION_LIST_ID = "audit-actions"


class BoundedDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.CharFilter(
        label=_("Action"),
        lookup_expr="startswith",
        widget=forms.TextInput(attrs={"list": ACTION_LIST_ID}),
    )
    actor = django_filters.CharFilter(label=_("Actor (user name)"), field_name="actor_name")
    target_type = django_filters.CharFilter(label=_("Target type"))
    since = BoundedDateFilter(
        label=_("From"), field_name="created_at", lookup_expr="date__gte", widget=DateInput()
    )
    until = BoundedDateFilter(
        label=_("Until"), field_name="created_at", lookup_expr="date__lte", widget=DateInput()
    )

    class Meta:
        model = AuditEvent
        fields = []
