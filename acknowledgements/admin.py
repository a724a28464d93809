from django.contrib import admin

from isms.admin import ReadOnlyAdmin

from .models import Acknowledgement, AcknowledgementCampaign


@admin.register(AcknowledgementCampaign)
class AcknowledgementCampaignAdmin(ReadOnlyAdmin):
    list_display = ["revision", "deadline", "opened_at"]
    list_select_related = ["revision__document"]


@admin.register(Acknowledgement)
class AcknowledgementAdmin(ReadOnlyAdmin):
    list_display = ["user", "revision", "acknowledged_at", "ip_address"]
    list_select_related = ["user", "revision__document"]
    search_fields = ["user__username", "user__display_name"]
    date_hierarchy = "acknowledged_at"
