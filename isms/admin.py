"""Django admin for the programme admin. Records that prove compliance are read-only here;
roles change only through isms.roles so that permissions and the audit trail follow."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from . import roles
from .models import (
    AuditEvent,
    Department,
    PolicyDocument,
    PolicyRevision,
    Posting,
    RoleAssignment,
    RoleRule,
    UnitChange,
    User,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "actor_name", "action", "target_repr", "ip_address"]
    list_filter = ["action", "target_type", "created_at"]
    search_fields = ["actor_name", "target_repr", "action"]
    date_hierarchy = "created_at"


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "parent", "sort_order"]
    list_filter = ["kind"]
    search_fields = ["code", "name", "name_en"]
    list_select_related = ["parent"]


class RoleAssignmentInline(admin.TabularInline):
    model = RoleAssignment
    extra = 0
    can_delete = False
    fields = ["role", "department", "created_at"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ["username", "display_name", "section", "is_active"]
    list_filter = ["is_active", "is_staff"]
    search_fields = ["username", "display_name", "email"]
    list_select_related = ["section"]
    fieldsets = DjangoUserAdmin.fieldsets + (
        (_("Organisation"), {"fields": ["display_name", "section"]}),
    )
    inlines = [RoleAssignmentInline]


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(admin.ModelAdmin):
    """Adding and removing go through assign_role()/revoke_role(); an assignment is never
    edited in place (remove it and add the new one)."""

    list_display = ["user", "role", "department", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__display_name", "department__name"]
    list_select_related = ["user", "department"]
    autocomplete_fields = ["user", "department"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def save_model(self, request, obj, form, change):
        assignment = roles.assign_role(
            obj.user, obj.role, obj.department, by=request.user, request=request
        )
        obj.pk = assignment.pk

    def delete_model(self, request, obj):
        roles.revoke_role(obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for assignment in queryset.select_related("user", "department"):
            roles.revoke_role(assignment, by=request.user, request=request)


@admin.register(PolicyDocument)
class PolicyDocumentAdmin(admin.ModelAdmin):
    list_display = ["code", "title", "kind", "audience"]
    list_filter = ["kind", "audience"]
    filter_horizontal = ["audience_departments"]

    def has_delete_permission(self, request, obj=None):
        return False  # its revisions are records; documents are never removed


@admin.register(PolicyRevision)
class PolicyRevisionAdmin(ReadOnlyAdmin):
    """Revisions change only through the workflow pages (/manage/policies/)."""

    list_display = ["document", "number", "status", "effective_date", "author", "published_at"]
    list_filter = ["status", "document"]
    list_select_related = ["document", "author"]


@admin.register(RoleRule)
class RoleRuleAdmin(admin.ModelAdmin):
    """The rules a personnel batch gives roles by (isms.personnel): a post in a kind of unit,
    or in one named unit. A change applies from the next batch on."""

    list_display = ["role", "post", "unit_kind", "unit"]
    list_filter = ["role", "unit_kind"]
    list_select_related = ["unit"]
    autocomplete_fields = ["unit"]


@admin.register(Posting)
class PostingAdmin(ReadOnlyAdmin):
    list_display = ["user", "unit", "post", "employment_type", "valid_from", "valid_until"]
    list_filter = ["employment_type"]
    search_fields = ["user__username", "user__display_name", "user__staff_number", "unit__code"]
    list_select_related = ["user", "unit"]


@admin.register(UnitChange)
class UnitChangeAdmin(ReadOnlyAdmin):
    list_display = ["unit", "kind", "effective_on", "other_unit", "batch"]
    list_filter = ["kind"]
    search_fields = ["unit__code", "unit__name"]
    list_select_related = ["unit", "other_unit"]
