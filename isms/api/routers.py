"""The API's routers. An object is named by its numeric id: the URL pattern takes ASCII
digits only, so /api/evidence/abc/ is a 404 before any view sees it."""

from rest_framework.routers import DefaultRouter, SimpleRouter


class NumericIdMixin:
    def get_lookup_regex(self, viewset, lookup_prefix=""):
        if getattr(viewset, "lookup_field", "pk") in ("pk", "id") and not hasattr(
            viewset, "lookup_value_regex"
        ):
            lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or viewset.lookup_field
            return f"(?P<{lookup_prefix}{lookup_url_kwarg}>[0-9]+)"
        return super().get_lookup_regex(viewset, lookup_prefix)


class Router(NumericIdMixin, SimpleRouter):
    pass


class RootRouter(NumericIdMixin, DefaultRouter):
    """The router with the browsable API root."""
