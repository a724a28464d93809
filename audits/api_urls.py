from isms.api.routers import Router

from . import api

router = Router()
router.register("audit-cycles", api.CycleViewSet, basename="api-audit-cycle")
router.register("checklist-items", api.ChecklistItemViewSet, basename="api-checklist-item")
router.register("inspections", api.InspectionViewSet, basename="api-inspection")
router.register("answers", api.AnswerViewSet, basename="api-answer")
router.register("findings", api.FindingViewSet, basename="api-finding")
router.register("evidence", api.EvidenceViewSet, basename="api-evidence")
urlpatterns = router.urls
