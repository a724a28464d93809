from isms.api.routers import Router

from .api import AssetViewSet

router = Router()
router.register("assets", AssetViewSet, basename="api-asset")
urlpatterns = router.urls
