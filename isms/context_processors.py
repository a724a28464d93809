from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from .notify import unread_count
from .portal import header_actions, nav_items


@dataclass(frozen=True)
class NavLink:
    label: str
    href: str
    current: bool


def navigation(request):
    """The links this person's navigation bar offers, worked out once per page and only
    when the page shows the bar. The link whose address is the longest start of the
    page's path is the current one (a document's page marks "Policies")."""
    user = request.user

    def links():
        items = [
            item
            for item in nav_items
            if item.public or (user.is_authenticated and item.allowed(user))
        ]
        hrefs = [reverse(item.url_name) for item in items]
        matching = [href for href in hrefs if request.path.startswith(href) and href != "/"]
        current = max(matching, key=len, default=None)
        return [
            NavLink(item.label, href, href == current)
            for item, href in zip(items, hrefs, strict=True)
        ]

    def unread():
        if not user.is_authenticated:
            return 0
        return unread_count(user)

    def actions():
        if not user.is_authenticated:
            return []
        return [
            NavLink(item.label, reverse(item.url_name), request.path == reverse(item.url_name))
            for item in header_actions
            if item.allowed(user)
        ]

    return {
        "nav_links": SimpleLazyObject(links),
        "header_actions": SimpleLazyObject(actions),
        "unread_notifications": SimpleLazyObject(unread),
    }
