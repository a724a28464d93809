from isms.api.routers import Router

from .api import AcknowledgementViewSet

router = Router()
router.register("acknowledgements", AcknowledgementViewSet, basename="api-acknowledgement")
urlpatterns = router.urls
