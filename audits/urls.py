from django.urls import path
from django.views.generic import RedirectView

from . import inspection_views, views

urlpatterns = [
    path("", views.cycle_list, name="audit-cycle-list"),
    path("cycles/new/", views.cycle_create, name="audit-cycle-create"),
    path("cycles/<int:pk>/", views.cycle_detail, name="audit-cycle"),
    path("cycles/<int:pk>/assign/", views.cycle_assign, name="audit-cycle-assign"),
    path("cycles/<int:pk>/report/", views.cycle_report, name="audit-cycle-report"),
    path("inspections/<int:pk>/", inspection_views.inspection_detail, name="audit-inspection"),
    path(
        "inspections/<int:pk>/parts/<slug:area>/",
        inspection_views.inspection_area,
        name="audit-inspection-area",
    ),
    path(
        "inspections/<int:pk>/submit/",
        inspection_views.inspection_submit,
        name="audit-inspection-submit",
    ),
    path(
        "inspections/<int:pk>/return/",
        inspection_views.inspection_return,
        name="audit-inspection-return",
    ),
    path(
        "answers/<int:pk>/finding/", inspection_views.answer_to_finding, name="audit-answer-finding"
    ),
    path(
        "answers/<int:pk>/evidence/",
        inspection_views.answer_evidence,
        name="audit-answer-evidence",
    ),
    path("findings/", views.finding_list, name="audit-finding-list"),
    path("findings/<int:pk>/", views.finding_detail, name="audit-finding"),
    path("findings/<int:pk>/<slug:action>/", views.finding_action, name="audit-finding-action"),
    path("evidence/<int:pk>/", views.evidence_download, name="audit-evidence"),
    # The backlog moved to the core (/policy-review/), with every kind of item on it.
    path(
        "policy-review/",
        RedirectView.as_view(
            pattern_name="policy-review-backlog", permanent=True, query_string=True
        ),
        name="audit-policy-backlog",
    ),
]
