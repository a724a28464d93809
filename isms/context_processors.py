from django.utils.functional import SimpleLazyObject

from .portal import nav_items


def navigation(request):
    """The links this person's navigation bar offers, worked out once per page and only
    when the page shows the bar."""
    user = request.user

    def links():
        if not user.is_authenticated:
            return []
        return [item for item in nav_items if item.allowed(user)]

    return {"nav_links": SimpleLazyObject(links)}
