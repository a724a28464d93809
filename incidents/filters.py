"""The filters of the incident API. Each reads its query string only through the FilterSet,
so a bad value is a 400 naming the parameter, and none tells the caller more than the list
itself would: a unit whose incidents they may not list is refused like an unknown one, and
the classification (category, severity) matches only incidents whose handling they read."""

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_filters.fields import IsoDateTimeField
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from isms.models import Department
from isms.pickers import VisibleChoiceFilter
from isms.roles import AnyUser

from . import access
from .models import Category, Decision, Incident, Obligation, Severity, Status


def departments_seen(user: AnyUser) -> QuerySet[Department]:
    """The units the person may filter incidents by: every unit for the readers; for anyone
    else, those of the incidents they see and the units they head."""
    if access.reads_all(user):
        return Department.objects.all()
    units = Q(pk__in=access.visible_incidents(user).order_by().values("department_id"))
    if access.is_head(user):
        units |= Q(pk__in=access.headed_units(user))
    return Department.objects.filter(units)


@extend_schema_field(OpenApiTypes.STR)
class DepartmentCodeFilter(VisibleChoiceFilter):
    """A unit by its code (department=somu), with the units below it."""


@extend_schema_field(OpenApiTypes.STR)
class CategoryCodeFilter(django_filters.ModelChoiceFilter):
    """A category by its code (category=mistake)."""


class LocalIsoDateTimeField(IsoDateTimeField):
    """An ISO 8601 time, brought into the portal's time zone: PostgreSQL refuses offsets
    that Python accepts (-22:23), and one that takes the time past the year 9999 is
    refused here as invalid."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is None or timezone.is_naive(parsed):
            return parsed
        try:
            return timezone.localtime(parsed)
        except OverflowError:
            raise ValidationError(self.error_messages["invalid"], code="invalid") from None


class LocalIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = LocalIsoDateTimeField


class IncidentFilter(django_filters.FilterSet):
    """Runs on IncidentViewSet's queryset, whose `details_visible` says whether the caller
    reads each incident's handling (access.reads_details)."""

    status = django_filters.ChoiceFilter(label=_("Status"), choices=Status.choices)
    severity = django_filters.ChoiceFilter(
        label=_("Severity"), choices=Severity.choices, method="classified_as"
    )
    category = CategoryCodeFilter(
        label=_("Category"),
        queryset=Category.objects.all(),
        to_field_name="code",
        method="classified_as",
    )
    department = DepartmentCodeFilter(
        label=_("Department"),
        visible=departments_seen,
        to_field_name="code",
        method="in_department",
    )
    reported_after = LocalIsoDateTimeFilter(
        label=_("Reported at or after"), field_name="reported_at", lookup_expr="gte"
    )
    reported_before = LocalIsoDateTimeFilter(
        label=_("Reported before"), field_name="reported_at", lookup_expr="lt"
    )

    class Meta:
        model = Incident
        fields = []

    def classified_as(self, queryset, name, value):
        # A reporter who does not read the handling learns nothing of it by filtering.
        return queryset.filter(details_visible=True, **{name: value})

    def in_department(self, queryset, name, department):
        return queryset.filter(department__in=Department.objects.within([department.pk]))


class ObligationFilter(django_filters.FilterSet):
    incident = VisibleChoiceFilter(visible=access.incidents_with_details)
    decision = django_filters.ChoiceFilter(label=_("Decision"), choices=Decision.choices)

    class Meta:
        model = Obligation
        fields = []
