"""The places where apps hook into the portal's shell without the core importing them.

An app registers its navigation links and home-page panels from its AppConfig.ready();
the core renders whatever is registered.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    allowed: Callable  # allowed(user) -> bool
    order: int = 100
    # Shown to visitors who have not signed in as well (the published basic policy).
    public: bool = False


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable  # context(request) -> dict, or None to hide the panel
    order: int = 100


nav_items: list[NavItem] = []
dashboard_panels: list[Panel] = []
# Sections of the CISO's weekly summary: callables summary(today) -> (title, [line, ...]).
summary_sections: list[Callable] = []
# Panels on a revision's pages; their context callable is context(request, revision).
revision_panels: list[Panel] = []


def register_nav(item):
    if item not in nav_items:
        nav_items.append(item)
        nav_items.sort(key=lambda i: i.order)


def register_revision_panel(panel):
    if panel not in revision_panels:
        revision_panels.append(panel)
        revision_panels.sort(key=lambda p: p.order)


def rendered_revision_panels(request, revision):
    """(template, context) of every revision panel that has something to show."""
    panels = []
    for panel in revision_panels:
        context = panel.context(request, revision)
        if context is not None:
            panels.append((panel.template, context))
    return panels


def register_summary_section(section):
    if section not in summary_sections:
        summary_sections.append(section)


def register_panel(panel):
    if panel not in dashboard_panels:
        dashboard_panels.append(panel)
        dashboard_panels.sort(key=lambda p: p.order)
