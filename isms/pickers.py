"""Who may be named on an object: the owner of a corrective action, the custodian of an
asset, any person a form, the API, an import or the admin puts on something a unit owns.

A person named on an object is shown it, reminded of it and mailed about it, so they must be
someone allowed to read it. The one rule, used by every app:

- the person is active, and
- they belong to the object's department (their own unit is the department or one of its
  sections) or hold a department head's or section chief's role there (or above it), or
- they hold one of the city-wide roles that read every such object.

An app that shows its objects only to the department's heads and chiefs (audit findings)
narrows "belong to" to those roles with `members=False`.

The same module keeps the rule for ids in filters and choice fields: a value the caller may
not see is refused exactly like one that does not exist, so the answer tells nothing.
"""

from collections.abc import Callable, Sequence
from typing import Any, TypedDict, Unpack

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Model, Q, QuerySet
from django.forms.renderers import BaseRenderer
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from .models import Department, DepartmentAncestor, RoleAssignment, User
from .models.organisation import DEPARTMENTAL_ROLES, DepartmentKind, department_id_of
from .roles import AnyUser

# One message whether the user name is unknown, inactive or of another department: the
# answer must not tell an outsider which user names exist elsewhere.
NOT_NAMEABLE = _("Nobody with the user name %(name)s can be chosen here.")


class NamingRule(TypedDict, total=False):
    """An app's variant of the rule, passed on as keywords (assets.custodians,
    audits.owners)."""

    org_wide_roles: Sequence[str]
    members: bool


def departments_of(units: QuerySet[Department]) -> QuerySet[Department]:
    """The departments (部) of `units` (a queryset of units): a section's department is
    the unit above it; any other unit is its own. `units` is read once, in one
    uncorrelated subquery of the ancestor table."""
    section = Q(unit__kind=DepartmentKind.SECTION)
    own_department = Q(depth=1) & section
    itself = Q(depth=0) & (~section | Q(unit__parent__isnull=True))
    links = DepartmentAncestor.objects.filter(unit_id__in=units.order_by().values("pk"))
    return Department.objects.filter(
        pk__in=links.filter(own_department | itself).values("ancestor_id")
    )


def _people_of(
    departments: QuerySet[Department], *, org_wide_roles: Sequence[str], members: bool
) -> QuerySet[User]:
    """One uncorrelated UNION of the ids of the people allowed, which PostgreSQL plans as
    a semi-join (never a SubPlan run per person, bench/permission_plans.py)."""
    User = get_user_model()
    department_ids = departments.order_by().values("pk")
    # The departments and their sections; and the units above them, whose heads oversee
    # the department too.
    units = DepartmentAncestor.objects.filter(ancestor_id__in=department_ids).filter(
        Q(depth=0) | Q(depth=1, unit__kind=DepartmentKind.SECTION)
    )
    above = DepartmentAncestor.objects.filter(unit_id__in=department_ids, depth__gte=1)
    allowed = (
        RoleAssignment.objects.order_by()
        .filter(role__in=DEPARTMENTAL_ROLES)
        .filter(
            Q(department_id__in=units.values("unit_id"))
            | Q(department_id__in=above.values("ancestor_id"))
        )
    )
    allowed_ids = allowed.values("user_id")
    if members:
        allowed_ids = allowed_ids.union(
            User.objects.order_by().filter(section_id__in=units.values("unit_id")).values("pk"),
            all=True,
        )
    if org_wide_roles:
        allowed_ids = allowed_ids.union(
            RoleAssignment.objects.order_by()
            .filter(role__in=org_wide_roles, department__isnull=True)
            .values("user_id"),
            all=True,
        )
    return User.objects.filter(pk__in=allowed_ids, is_active=True)


def nameable_people(
    unit: Department, *, org_wide_roles: Sequence[str] = (), members: bool = True
) -> QuerySet[User]:
    """Active people who may be named on an object owned by `unit`."""
    return _people_of(
        Department.objects.filter(pk=department_id_of(unit)),
        org_wide_roles=org_wide_roles,
        members=members,
    )


def nameable_for_any(
    units: QuerySet[Department], *, org_wide_roles: Sequence[str] = (), members: bool = True
) -> QuerySet[User]:
    """People who may be named for at least one of `units` (a queryset): a form's picker
    offers them before the unit is chosen; the service checks the unit that is chosen."""
    return _people_of(departments_of(units), org_wide_roles=org_wide_roles, members=members)


def may_be_named(person: User | None, unit: Department, **rule: Unpack[NamingRule]) -> bool:
    return (
        person is not None
        and person.is_active
        and nameable_people(unit, **rule).filter(pk=person.pk).exists()
    )


def check_nameable(
    person: User | None, unit: Department, *, field: str, **rule: Unpack[NamingRule]
) -> None:
    """Raise a ValidationError on `field` unless the person may be named for the unit."""
    if person is not None and not may_be_named(person, unit, **rule):
        raise ValidationError({field: NOT_NAMEABLE % {"name": person.get_username()}})


# --- the picker in forms and the API --------------------------------------------------

# A department has a few hundred people at most; the list is a convenience, the rule is
# checked on what is sent.
PICKER_LIMIT = 500


class PersonPickerInput(forms.TextInput):
    """A user-name box that offers, through a <datalist>, only the people who may be
    chosen (never anyone of another department)."""

    people: QuerySet[User] | None = None

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: BaseRenderer | None = None,
    ) -> SafeString:
        attrs = dict(attrs or {})
        list_id = f"{attrs.get('id') or name}-choices"
        attrs.update({"list": list_id, "autocomplete": "off"})
        html = super().render(name, value, attrs, renderer)
        people = self.people.order_by("username")[:PICKER_LIMIT] if self.people is not None else []
        options = format_html_join(
            "", '<option value="{}">{}</option>', ((p.username, str(p)) for p in people)
        )
        return html + format_html(
            '<datalist id="{}" data-testid="{}-choices">{}</datalist>', list_id, name, options
        )


class PersonField(forms.CharField):
    """A person by user name, among `people` (a queryset the form sets from the rule)."""

    widget = PersonPickerInput

    def __init__(self, *args: Any, people: QuerySet[User] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 150)
        super().__init__(*args, **kwargs)
        self.people = people

    @property
    def people(self) -> QuerySet[User] | None:
        return self._people

    @people.setter
    def people(self, queryset: QuerySet[User] | None) -> None:
        self._people = queryset
        self.widget.people = queryset

    def clean(self, value: Any) -> User | None:
        username = super().clean(value).strip()
        if not username:
            return None
        people = self.people if self.people is not None else get_user_model().objects.none()
        person = people.filter(username=username).first()
        if person is None:
            raise forms.ValidationError(NOT_NAMEABLE % {"name": username}, code="not_nameable")
        return person


class PersonRelatedField(serializers.SlugRelatedField):
    """A person by user name in the API. Unknown, inactive and not-allowed names get the
    same error (the service applies the rule for the object's unit)."""

    default_error_messages = {
        "does_not_exist": _("Nobody with the user name {value} can be chosen here."),
        "invalid": _("Give a user name."),
    }

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("queryset", get_user_model().objects.filter(is_active=True))
        super().__init__(slug_field="username", **kwargs)


# --- ids in filters --------------------------------------------------------------------


class VisibleChoiceFilter(django_filters.ModelChoiceFilter):
    """A filter by an object's id that accepts only objects the caller may see.

    `visible` is called with the request's user and returns that queryset. An id of an
    object the caller may not see is refused with the same 400 as an id that does not
    exist, instead of an answer with no rows that would tell it exists."""

    def __init__(
        self, *args: Any, visible: Callable[[AnyUser], QuerySet[Any]], **kwargs: Any
    ) -> None:
        self._visible = visible
        super().__init__(*args, queryset=self._queryset_for, **kwargs)

    def _queryset_for(self, request: HttpRequest | None) -> QuerySet[Any]:
        user = getattr(request, "user", None)
        if user is None:
            return self.model._meta.get_field(self.field_name).related_model.objects.none()
        return self._visible(user)


class VisibleRelatedField(serializers.PrimaryKeyRelatedField):
    """An object by id in the API, among those the caller may see: an id of an object they
    may not see gets the same "does not exist" error as an id that does not exist."""

    def __init__(
        self,
        *,
        model: type[Model],
        visible: Callable[[AnyUser], QuerySet[Any]],
        **kwargs: Any,
    ) -> None:
        self._model, self._visible = model, visible
        super().__init__(**kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        request = self.context.get("request")
        if request is None:
            return self._model._default_manager.none()
        return self._visible(request.user)
