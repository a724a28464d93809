import functools
import re

from django import template
from django.contrib.staticfiles import finders
from django.utils import timezone
from django.utils.safestring import mark_safe

from isms.eras import date_label
from isms.eras import fiscal_year_label as _fiscal_year_label
from isms.rendering import render_markdown

register = template.Library()


@register.filter
def era(value):
    """A date (or datetime, in Japan time) in the Japanese era in the Japanese UI,
    令和7年11月27日, and as 27 November 2025 in English."""
    if not value:
        return ""
    if hasattr(value, "hour"):
        value = timezone.localtime(value).date()
    return date_label(value)


@register.filter
def fiscal_year_label(value):
    """{{ cycle.fiscal_year|fiscal_year_label }}: 令和8年度 in Japanese, FY2026 in English."""
    if value in (None, ""):
        return ""
    try:
        return _fiscal_year_label(int(value))
    except (TypeError, ValueError):
        return value


@register.filter
def era_datetime(value):
    if not value:
        return ""
    local = timezone.localtime(value)
    return f"{era(local.date())} {local:%H:%M}"


@register.filter
def markdown(value):
    return mark_safe(render_markdown(value))  # render_markdown sanitises with nh3


@register.filter
def dict_get(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def pair_get(mapping, key):
    """Step into a dict keyed by tuples: {("major", "open"): 3}|pair_get:"major"|pair_get:"open"."""
    if mapping is None:
        return None
    if isinstance(mapping, dict) and key in mapping:
        return mapping[key]
    return {
        rest[0] if len(rest) == 1 else rest: value
        for (first, *rest), value in mapping.items()
        if first == key
    }


@functools.cache
def _icon_svg(name: str) -> str:
    path = finders.find(f"vendor/lucide/{name}.svg")
    if not path:
        raise template.TemplateSyntaxError(f"no icon named {name!r} in lucide-static")
    with open(path, encoding="utf-8") as svg:
        text = svg.read()
    # Decorative beside its text label: hidden from screen readers, sized by the CSS.
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S).strip()
    text = re.sub(r"\s+", " ", text).replace('class="lucide', 'class="icon lucide', 1)
    return text.replace("<svg", '<svg aria-hidden="true" focusable="false"', 1)


@register.simple_tag
def icon(name):
    """{% icon "bell" %}: a Lucide icon (npm package lucide-static, served by the portal)
    inline, so it takes the colour of its text; always beside a text label."""
    return mark_safe(_icon_svg(name))  # the package's own SVG file, not user input
