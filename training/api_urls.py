from rest_framework.routers import SimpleRouter

from .api import AcknowledgementViewSet

router = SimpleRouter()
router.register("acknowledgements", AcknowledgementViewSet, basename="api-acknowledgement")
urlpatterns = router.urls
