from isms.api.routers import Router

from . import api

router = Router()
router.register("incidents", api.IncidentViewSet, basename="api-incident")
router.register("incident-attachments", api.AttachmentViewSet, basename="api-incident-attachment")
router.register("report-stages", api.ReportStageViewSet, basename="api-report-stage")
router.register("obligations", api.ObligationViewSet, basename="api-obligation")
router.register("drills", api.DrillViewSet, basename="api-drill")
router.register("incident-categories", api.CategoryViewSet, basename="api-incident-category")
router.register("contact-tree", api.ContactViewSet, basename="api-contact")
urlpatterns = router.urls
