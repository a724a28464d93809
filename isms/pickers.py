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
from django.forms.utils import ErrorDict, flatatt
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
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
    """A person by user name, among `people` (a queryset the form sets from the rule).

    Its default widget is a user-name box with a <datalist>; `widget=PersonPicker(...)`
    makes it a select, or a search among the people allowed when they are many."""

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
        if isinstance(self.widget, Picker):
            self.widget.queryset = queryset.order_by("username") if queryset is not None else None
            self.widget.field_label = str(self.label or "")

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


# --- choosing from a searchable list (docs/ui.md, "Pickers") -----------------------------
#
# A field whose value is one of a queryset limited to what the person may choose (the rule
# above for people; an app's visibility rule for its objects). Up to PICKER_SELECT_UP_TO
# choices it is a plain <select>. Beyond that it is a search box, a Search button and the
# matches as radio buttons: without JavaScript the button sends the form back to its own
# view (PickerSearchMixin), which shows it again as typed with the matches; with
# static/js/picker.js the matches come from the app's search endpoint (picker_results) as
# the person types. Whatever is sent is checked by the field against the same queryset.

PICKER_SELECT_UP_TO = 50
PICKER_RESULTS = 20
# The name of the Search button, and the suffix of the search box's name.
SEARCH_BUTTON = "picker-search"
TERM_SUFFIX = "__q"
MAX_TERM = 100


def clean_term(raw: Any) -> str:
    """A search term as typed, without the NUL PostgreSQL refuses, at most MAX_TERM long."""
    return str(raw or "").replace("\x00", "").strip()[:MAX_TERM]


class PickerOption(TypedDict):
    value: str
    label: str
    checked: bool


class Picker(forms.Widget):
    """The widget of a picker field (PickerChoiceField, PersonField with PersonPicker).

    The field sets `queryset` (the choices allowed), `label` (an object's text) and
    `field_label`; `value_field` is the attribute sent as the value, `search_fields` those
    a search term is looked for in (and the number itself when the value is the id)."""

    template_name = "widgets/picker.html"
    results_template_name = "widgets/picker_results.html"

    def __init__(
        self,
        attrs: dict[str, Any] | None = None,
        *,
        search_fields: Sequence[str] = ("name",),
        value_field: str = "pk",
        search_url: str | None = None,
    ) -> None:
        super().__init__(attrs)
        self.search_fields = tuple(search_fields)
        self.value_field = value_field
        self.search_url = search_url
        self.queryset: QuerySet[Any] | None = None
        self.label: Callable[[Any], str] = str
        self.field_label: str = ""
        self.term = ""

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        # The form's data is read here only: keep the term searched for with it.
        self.term = clean_term(data.get(name + TERM_SUFFIX))
        return data.get(name)

    def _choices(self) -> QuerySet[Any]:
        if self.queryset is None:
            raise ValueError("a picker needs its field to set the queryset")
        return self.queryset

    def key(self, obj: Any) -> str:
        return str(getattr(obj, self.value_field))

    def matching(self, term: str) -> QuerySet[Any]:
        wanted = Q()
        for field in self.search_fields:
            wanted |= Q(**{f"{field}__icontains": term})
        # The number itself, when the value is the id (short enough to be an integer).
        if self.value_field == "pk" and term.isdigit() and len(term) <= 9:
            wanted |= Q(pk=int(term))
        return self._choices().filter(wanted)

    def selected(self, value: str) -> Any | None:
        """The chosen object, if it is among those allowed."""
        if not value or "\x00" in value or len(value) > MAX_TERM:
            return None
        try:
            return self._choices().filter(**{self.value_field: value}).first()
        except (ValueError, TypeError, ValidationError):
            return None

    def results(self, name: str, id_: str, term: str, value: Any) -> dict[str, Any]:
        """The matches for `term`, the chosen one first: two queries at most."""
        value = "" if value is None else str(value)
        chosen = self.selected(value)
        options: list[PickerOption] = []
        if not self.is_required:
            options.append({"value": "", "label": str(_("(nobody / none)")), "checked": not value})
        if chosen is not None:
            options.append(
                {"value": self.key(chosen), "label": self.label(chosen), "checked": True}
            )
        elif value:
            # Not allowed (the field says so beside it): kept as sent, never dropped.
            options.append({"value": value, "label": value, "checked": True})
        found = list(self.matching(term)[: PICKER_RESULTS + 1]) if term else []
        more = len(found) > PICKER_RESULTS
        options += [
            {"value": self.key(obj), "label": self.label(obj), "checked": False}
            for obj in found[:PICKER_RESULTS]
            if chosen is None or self.key(obj) != self.key(chosen)
        ]
        count = min(len(found), PICKER_RESULTS)
        status: str
        if not term:
            status = str(_("Type part of a name or a number, then search."))
        elif more:
            status = _("The first %(count)s matches are shown; type more to narrow them.") % {
                "count": PICKER_RESULTS
            }
        elif count:
            status = _("%(count)s found.") % {"count": count}
        else:
            status = _("Nothing matches “%(term)s”.") % {"term": term}
        return {
            "name": name,
            "id": id_,
            "legend": _("%(label)s: choices") % {"label": self.field_label},
            "options": options,
            "status": status,
            "term": term,
        }

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        attrs = context["widget"]["attrs"]
        id_ = attrs.get("id") or f"id_{name}"
        value = "" if value is None else str(value)
        first = list(self._choices()[: PICKER_SELECT_UP_TO + 1])
        picker: dict[str, Any] = {"name": name, "id": id_, "search_url": self.search_url}
        if len(first) <= PICKER_SELECT_UP_TO:
            options = [(self.key(obj), self.label(obj)) for obj in first]
            if value and value not in {key for key, _label in options}:
                options.insert(0, (value, value))  # not allowed: kept as sent
            select_attrs = {k: v for k, v in attrs.items() if k != "maxlength"}
            picker.update(mode="select", options=options, value=value, attrs=flatatt(select_attrs))
        else:
            # The search box is described by the count of matches, and by the field's help.
            described = " ".join(filter(None, [f"{id_}-status", attrs.get("aria-describedby")]))
            search_attrs = {
                k: v for k, v in attrs.items() if k not in ("required", "id", "aria-describedby")
            }
            search_attrs["aria-describedby"] = described
            picker.update(
                mode="search",
                attrs=flatatt(search_attrs),
                term_name=name + TERM_SUFFIX,
                button=SEARCH_BUTTON,
                results=self.results(name, id_, self.term, value),
            )
        context["picker"] = picker
        return context

    def render(
        self,
        name: str,
        value: Any,
        attrs: dict[str, Any] | None = None,
        renderer: BaseRenderer | None = None,
    ) -> SafeString:
        # The project's templates (templates/widgets/), not the form renderer's own.
        return mark_safe(render_to_string(self.template_name, self.get_context(name, value, attrs)))


class PersonPicker(Picker):
    """The picker of a PersonField: people by user name, found by name or user name."""

    def __init__(self, attrs: dict[str, Any] | None = None, *, search_url: str | None = None):
        super().__init__(
            attrs,
            search_fields=("username", "display_name", "last_name", "first_name"),
            value_field="username",
            search_url=search_url,
        )
        self.label = person_label


def person_label(person: User) -> str:
    name = str(person)
    return name if name == person.username else f"{name} ({person.username})"


class PickerChoiceField(forms.ModelChoiceField):
    """One object of `queryset` (the choices allowed), chosen with a Picker. An id outside
    the queryset gets the same error as one that does not exist."""

    widget = Picker

    def __init__(
        self,
        queryset: QuerySet[Any] | None,
        *,
        search_fields: Sequence[str] = ("name",),
        search_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("widget", Picker(search_fields=search_fields, search_url=search_url))
        super().__init__(queryset, **kwargs)
        self.widget.field_label = str(self.label or "")

    def _set_picker_queryset(self, queryset: QuerySet[Any] | None) -> None:
        forms.ModelChoiceField._set_queryset(self, queryset)  # type: ignore[attr-defined]
        self.widget.queryset = self._queryset  # type: ignore[attr-defined]
        self.widget.label = self.label_from_instance

    queryset = property(forms.ModelChoiceField._get_queryset, _set_picker_queryset)  # type: ignore[attr-defined]


class PickerSearchMixin(forms.BaseForm):
    """For a form with pickers: its Search button (used without JavaScript) sends the form
    to its own view, which shows it again as typed, with the matches, without errors, and
    saves nothing (is_valid() is false)."""

    @property
    def searching(self) -> bool:
        return self.is_bound and SEARCH_BUTTON in self.data

    def full_clean(self) -> None:
        if self.searching:
            self._errors = ErrorDict()
            self.cleaned_data = {}
            return
        super().full_clean()

    def is_valid(self) -> bool:
        return not self.searching and super().is_valid()


def picker_results(request: HttpRequest, field: forms.BoundField) -> HttpResponse:
    """The search endpoint's answer for one picker field of a form built for the person:
    the matches among the choices that field allows (two queries), as the HTML the widget
    shows them in (static/js/picker.js puts it in place)."""
    widget = field.field.widget
    if not isinstance(widget, Picker):
        raise TypeError(f"{field.name} is not a picker")
    results = widget.results(
        field.html_name,
        field.auto_id or f"id_{field.html_name}",
        clean_term(request.GET.get("q")),
        clean_term(request.GET.get("value")),
    )
    return render(request, widget.results_template_name, {"results": results})
