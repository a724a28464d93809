"""Django admin for the programme admin: the tables that configure incident handling
(categories, authorities, reporting obligation rules and their stages, the contact tree)
are edited here. Incidents and everything recorded on them are read here, never written:
they change only through incidents.services, which keeps the workflow and the timeline."""

from django.contrib import admin

from isms.admin import ReadOnlyAdmin

from .models import (
    Authority,
    Category,
    Contact,
    Drill,
    Incident,
    Obligation,
    ObligationRule,
    StageRule,
    TimelineEntry,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["order", "code", "name"]
    list_display_links = ["code"]


@admin.register(Authority)
class AuthorityAdmin(admin.ModelAdmin):
    list_display = ["order", "code", "name"]
    list_display_links = ["code"]


class StageRuleInline(admin.TabularInline):
    model = StageRule
    extra = 0


@admin.register(ObligationRule)
class ObligationRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "authority",
        "if_personal_data",
        "if_my_number",
        "min_severity",
        "active",
    ]
    list_filter = ["authority", "active"]
    filter_horizontal = ["categories"]
    inlines = [StageRuleInline]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["order", "duty", "person", "deputy", "phone"]
    list_display_links = ["duty"]
    autocomplete_fields = ["person", "deputy"]


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ["pk", "title", "status", "severity", "department", "reported_at"]
    list_filter = ["status", "severity", "category"]
    search_fields = ["title"]


@admin.register(TimelineEntry)
class TimelineEntryAdmin(ReadOnlyAdmin):
    list_display = ["incident", "kind", "author", "created_at"]


@admin.register(Obligation)
class ObligationAdmin(ReadOnlyAdmin):
    list_display = ["incident", "rule", "decision"]


@admin.register(Drill)
class DrillAdmin(ReadOnlyAdmin):
    list_display = ["held_on", "scenario"]
