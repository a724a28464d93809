from django.urls import path

from . import views

urlpatterns = [
    path("", views.my_acknowledgements, name="my-acknowledgements"),
    path("revisions/<int:revision_id>/", views.read_and_acknowledge, name="ack-read"),
    path("receipts/<int:pk>/", views.receipt, name="ack-receipt"),
    path("status/", views.campaign_list, name="campaign-list"),
    path("status/<int:revision_id>/", views.campaign_status, name="campaign-status"),
    path("status/<int:revision_id>/deadline/", views.change_deadline, name="campaign-deadline"),
]
