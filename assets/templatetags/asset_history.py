"""How an entry of an asset's history reads: field names by their labels, stored values
(choice codes, booleans, ISO dates) as the person's language shows them."""

import datetime

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.template.defaultfilters import yesno
from django.utils.translation import gettext_lazy as _

from isms.templatetags.isms import era

from ..models import Asset

register = template.Library()


@register.filter
def field_label(name):
    if name == "relation":
        return _("Relations")
    try:
        return Asset._meta.get_field(name).verbose_name
    except FieldDoesNotExist:
        return name


@register.filter
def field_value(value, name):
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return yesno(value)
    try:
        field = Asset._meta.get_field(name)
    except FieldDoesNotExist:
        return value
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if field.get_internal_type() == "DateField":
        try:
            return era(datetime.date.fromisoformat(value))
        except (TypeError, ValueError):
            return value
    return value
