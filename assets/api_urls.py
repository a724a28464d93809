from rest_framework.routers import SimpleRouter

from .api import AssetViewSet

router = SimpleRouter()
router.register("assets", AssetViewSet, basename="api-asset")
urlpatterns = router.urls
