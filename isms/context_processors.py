from django.utils.functional import SimpleLazyObject

from .notify import unread_count
from .portal import nav_items


def navigation(request):
    """The links this person's navigation bar offers, worked out once per page and only
    when the page shows the bar."""
    user = request.user

    def links():
        if not user.is_authenticated:
            return []
        return [item for item in nav_items if item.allowed(user)]

    def unread():
        if not user.is_authenticated:
            return 0
        return unread_count(user)

    return {"nav_links": SimpleLazyObject(links), "unread_notifications": SimpleLazyObject(unread)}
