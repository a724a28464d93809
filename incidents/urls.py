from django.urls import path

from . import views

urlpatterns = [
    path("", views.incident_list, name="incident-list"),
    path("report/", views.report, name="incident-report"),
    path("plan/", views.plan, name="incident-plan"),
    path("<int:pk>/", views.incident_detail, name="incident-detail"),
    path("<int:pk>/<slug:action>/", views.incident_action, name="incident-action"),
    path(
        "obligations/<int:pk>/decide/", views.obligation_decide, name="incident-obligation-decide"
    ),
    path("report-stages/<int:pk>/advance/", views.stage_advance, name="incident-stage-advance"),
    path("attachments/<int:pk>/", views.attachment_download, name="incident-attachment"),
]
