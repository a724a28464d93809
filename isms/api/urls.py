from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import views
from .imports import ImportJobViewSet
from .personnel import PersonnelBatchViewSet, PostingViewSet
from .routers import RootRouter
from .tokens import ApiTokenViewSet

router = RootRouter()
router.register("departments", views.DepartmentViewSet, basename="api-department")
router.register("policies", views.PolicyDocumentViewSet, basename="api-policy")
router.register("revisions", views.RevisionViewSet, basename="api-revision")
router.register("imports", ImportJobViewSet, basename="api-import-job")
router.register("tokens", ApiTokenViewSet, basename="api-tokens")
router.register("personnel/batches", PersonnelBatchViewSet, basename="api-personnel-batch")
router.register("personnel/postings", PostingViewSet, basename="api-posting")

urlpatterns = [
    path("auth/token/", views.ObtainTokenView.as_view(), name="api-token"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(
        "docs/",
        # Swagger UI styles itself with inline <style>; allow that on this page alone.
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api-schema")
        ),
        name="api-docs",
    ),
    path("", include("acknowledgements.api_urls")),
    path("", include("assets.api_urls")),
    path("", include("audits.api_urls")),
    path("", include("incidents.api_urls")),
    path("", include(router.urls)),
]
