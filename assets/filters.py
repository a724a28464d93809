"""The register's filters, shared by the page, the exports and the API. Everything runs in
SQL on the queryset the person may see."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from isms.forms import QuickSelect
from isms.models import Department

from . import reviews
from .access import PUBLIC_RANK
from .models import Asset, AssetKind, AssetStatus, Axis, ClassificationLevel, NetworkTier
from .tier_rules import RULES


def above_public(params) -> bool:
    """Whether the register's query string keeps only assets above the public level: every
    confidentiality level of the code it asks for, in any scheme, ranks higher (then
    access.visible_assets(public=False) applies)."""
    code = params.get("confidentiality")
    if not code:
        return False
    # Matched here rather than in SQL: the value is whatever the query string holds.
    levels = ClassificationLevel.objects.filter(axis=Axis.CONFIDENTIALITY)
    ranks = [rank for level_code, rank in levels.values_list("code", "rank") if level_code == code]
    return bool(ranks) and min(ranks) > PUBLIC_RANK


@extend_schema_field(OpenApiTypes.STR)
class CodeChoiceFilter(django_filters.ModelChoiceFilter):
    """A related object chosen by its code (department=mayor-somu)."""


@extend_schema_field(OpenApiTypes.STR)
class MethodChoiceFilter(django_filters.ChoiceFilter):
    """A choice applied by a method: described as a plain string in the schema."""


def _level_choices(axis):
    def choices():
        return [
            (level.code, level.name)
            for level in ClassificationLevel.objects.filter(scheme__is_active=True, axis=axis)
        ]

    return choices


class AssetFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(label=_("Search"), method="search")
    department = CodeChoiceFilter(
        label=_("Department"),
        queryset=Department.objects.all(),
        method="in_department",
        to_field_name="code",
        widget=QuickSelect,  # the city's hundreds of units
    )
    kind = django_filters.ChoiceFilter(label=_("Kind"), choices=AssetKind.choices)
    tier = django_filters.ModelChoiceFilter(
        label=_("Network tier"), queryset=NetworkTier.objects.all(), to_field_name="code"
    )
    confidentiality = django_filters.ChoiceFilter(
        label=_("Confidentiality"),
        choices=_level_choices(Axis.CONFIDENTIALITY),
        field_name="confidentiality__code",
    )
    integrity = django_filters.ChoiceFilter(
        label=_("Integrity"),
        choices=_level_choices(Axis.INTEGRITY),
        field_name="integrity__code",
    )
    availability = django_filters.ChoiceFilter(
        label=_("Availability"),
        choices=_level_choices(Axis.AVAILABILITY),
        field_name="availability__code",
    )
    status = django_filters.ChoiceFilter(label=_("Status"), choices=AssetStatus.choices)
    review = MethodChoiceFilter(
        label=_("Review"),
        method="by_review",
        choices=[("due", _("Due this fiscal year")), ("overdue", _("Overdue"))],
    )
    rule = MethodChoiceFilter(
        label=_("Rule broken"),
        method="by_rule",
        choices=lambda: [(rule.code, rule.title) for rule in RULES.values()],
    )
    personal_data = django_filters.BooleanFilter(
        label=_("Personal data"), field_name="has_personal_data"
    )
    my_number = django_filters.BooleanFilter(label=_("My Number data"), field_name="has_my_number")

    class Meta:
        model = Asset
        fields = []

    def search(self, queryset, name, value):
        return queryset.filter(
            Q(name__icontains=value)
            | Q(description__icontains=value)
            | Q(location__icontains=value)
        )

    def in_department(self, queryset, name, department):
        return queryset.filter(section__in=Department.objects.within([department.pk]))

    def by_review(self, queryset, name, value):
        return queryset.filter(reviews.overdue_q() if value == "overdue" else reviews.due_q())

    def by_rule(self, queryset, name, value):
        return RULES[value].violations(queryset)
