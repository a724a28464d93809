"""Django admin for the programme admin: the audit records are read here, never written.

Checklists and cycles are read-mostly: a new checklist version may be written here while
no cycle uses it, after which its items are fixed; a cycle is opened on the audit pages
(which create its inspections and write the audit trail) and only its name may be
corrected. Answers, findings, corrective actions and evidence change only through
audits.services, which keeps the locks on submitted answers and closed findings."""

from django.contrib import admin

from isms.admin import ReadOnlyAdmin

from .models import (
    Answer,
    AuditorAssignment,
    ChecklistItem,
    ChecklistVersion,
    CorrectiveAction,
    Cycle,
    Evidence,
    Finding,
    Inspection,
)


def _in_use(checklist):
    return checklist is not None and checklist.pk is not None and checklist.cycles.exists()


class ChecklistItemInline(admin.TabularInline):
    model = ChecklistItem
    extra = 0
    can_delete = False
    fields = ["number", "area", "text", "policy_reference"]

    def has_add_permission(self, request, obj=None):
        return not _in_use(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not _in_use(obj) and super().has_change_permission(request, obj)


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(admin.ModelAdmin):
    list_display = ["name", "version", "created_at"]
    inlines = [ChecklistItemInline]

    def has_change_permission(self, request, obj=None):
        return not _in_use(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # a version is a record of what was asked


@admin.register(ChecklistItem)
class ChecklistItemAdmin(ReadOnlyAdmin):
    list_display = ["number", "checklist", "area", "policy_reference"]
    list_filter = ["checklist", "area"]
    list_select_related = ["checklist"]
    search_fields = ["number", "text"]


class AuditorAssignmentInline(admin.TabularInline):
    model = AuditorAssignment
    extra = 0
    can_delete = False
    fields = ["department", "auditor"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False  # assigned on the cycle page, which checks the auditor's own department


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "fiscal_year", "starts_on", "due_on"]
    list_filter = ["kind", "fiscal_year"]
    readonly_fields = [
        "kind",
        "fiscal_year",
        "checklist",
        "departments",
        "starts_on",
        "due_on",
        "created_by",
        "created_at",
    ]
    fields = ["name", *readonly_fields]
    inlines = [AuditorAssignmentInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Inspection)
class InspectionAdmin(ReadOnlyAdmin):
    list_display = ["cycle", "department", "status", "submitted_at"]
    list_filter = ["status", "cycle"]
    list_select_related = ["cycle", "department"]


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ["inspection", "item", "result", "answered_by", "answered_at"]
    list_filter = ["result"]
    list_select_related = ["inspection__cycle", "inspection__department", "item", "answered_by"]


@admin.register(Finding)
class FindingAdmin(ReadOnlyAdmin):
    list_display = ["title", "cycle", "department", "severity", "status", "created_at"]
    list_filter = ["status", "severity", "needs_policy_review"]
    list_select_related = ["cycle", "department"]
    search_fields = ["title"]


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(ReadOnlyAdmin):
    list_display = ["finding", "owner", "due_on", "created_at"]
    list_select_related = ["finding", "owner"]


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin):
    """The file itself downloads only through the permission-checked page."""

    list_display = ["original_name", "content_type", "size", "sha256", "uploaded_at"]
    exclude = ["file"]
