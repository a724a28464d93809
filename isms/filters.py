"""The audit trail's filters: the page reads its query string only through this
FilterSet, so a bad value is a field error shown with the form, never ignored (see
assets/filters.py for the register's)."""

from typing import Any

import django_filters
from django import forms
from django.db import connection
from django.utils.translation import gettext_lazy as _

from .audit_trail import target_type_label
from .forms import BoundedDateField, DateInput
from .models import AuditAction, AuditEvent, User
from .pickers import PersonField


def target_types() -> list[str]:
    """The kinds of record the trail names, in one query that stays fast however long the
    trail: a DISTINCT would read the whole index of (target_type, target_id); this walks it,
    one probe per kind (a "loose index scan", which PostgreSQL does not do by itself)."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE kinds(kind) AS ("
            f" SELECT MIN(target_type) FROM {table} WHERE target_type > ''"
            f" UNION ALL SELECT (SELECT MIN(target_type) FROM {table} WHERE target_type > kind)"
            f" FROM kinds WHERE kind IS NOT NULL"
            f") SELECT kind FROM kinds WHERE kind IS NOT NULL"
        )
        return [kind for (kind,) in cursor.fetchall()]


def target_type_choices() -> list[tuple[str, str]]:
    choices = [(label, target_type_label(label)) for label in target_types()]
    return sorted(choices, key=lambda choice: choice[1])


def action_choices() -> list[tuple[str, str]]:
    return [(value, str(label)) for value, label in AuditAction.choices]


class BoundedDateFilter(django_filters.DateFilter):
    field_class = BoundedDateField


class PersonFilter(django_filters.Filter):
    field_class = PersonField


class AuditTrailForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and until < since:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


class AuditEventFilter(django_filters.FilterSet):
    action = django_filters.ChoiceFilter(
        label=_("Action"), choices=action_choices, empty_label=_("All actions")
    )
    actor = PersonFilter(
        label=_("Who (user name)"),
        field_name="actor",
        help_text=_("Type a user name or choose from the list."),
    )
    target_type = django_filters.ChoiceFilter(
        label=_("Kind of record"), choices=target_type_choices, empty_label=_("All kinds")
    )
    since = BoundedDateFilter(
        label=_("From"), field_name="created_at", lookup_expr="date__gte", widget=DateInput()
    )
    until = BoundedDateFilter(
        label=_("Until"), field_name="created_at", lookup_expr="date__lte", widget=DateInput()
    )

    class Meta:
        model = AuditEvent
        fields: list[str] = []
        form = AuditTrailForm

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the city-wide roles read the trail, and they may read about everyone: the
        # list offers every person, the field accepts any existing user name.
        self.form.fields["actor"].people = User.objects.all()
