"""Django admin for the programme admin: the classification catalogue (schemes, levels,
handling rules, network tiers) is kept here; the register itself is read-only, because an
asset changes only through assets.services, which writes its history and the audit trail."""

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from isms.admin import ReadOnlyAdmin

from . import services
from .models import (
    Asset,
    AssetChange,
    AssetRelation,
    ClassificationLevel,
    ClassificationScheme,
    HandlingRule,
    NetworkTier,
)


@admin.register(ClassificationScheme)
class ClassificationSchemeAdmin(admin.ModelAdmin):
    """A scheme is switched with the action, which turns the old one off in the same
    transaction and writes the audit trail; `is_active` is never edited by hand."""

    list_display = ["name", "code", "is_active"]
    readonly_fields = ["code", "is_active"]
    actions = ["activate"]

    def has_add_permission(self, request):
        return False  # a scheme comes with its levels and rules (migrations, seed data)

    def has_delete_permission(self, request, obj=None):
        return False  # the levels of every asset ever classified point to it

    @admin.action(description=_("Make the selected scheme the active one"))
    def activate(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one scheme."), messages.ERROR)
            return
        scheme = queryset.get()
        services.activate_scheme(scheme, by=request.user, request=request)
        self.message_user(request, _("%(scheme)s is now the active scheme.") % {"scheme": scheme})


class HandlingRuleInline(admin.TabularInline):
    model = HandlingRule
    extra = 0
    can_delete = False
    fields = ["topic", "text", "strictness"]


@admin.register(ClassificationLevel)
class ClassificationLevelAdmin(admin.ModelAdmin):
    """Names, descriptions and rules may be worded better; what identifies a level and how
    it ranks (which decides who sees an asset) stay as they are."""

    list_display = ["name", "scheme", "axis", "code", "rank"]
    list_filter = ["scheme", "axis"]
    list_select_related = ["scheme"]
    readonly_fields = ["scheme", "axis", "code", "rank"]
    inlines = [HandlingRuleInline]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(HandlingRule)
class HandlingRuleAdmin(admin.ModelAdmin):
    list_display = ["level", "topic", "strictness"]
    list_filter = ["level__scheme", "topic"]
    list_select_related = ["level__scheme"]
    readonly_fields = ["level", "topic"]

    def has_add_permission(self, request):
        return False  # add a rule on its level's page

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NetworkTier)
class NetworkTierAdmin(admin.ModelAdmin):
    """The tier rules refer to tiers by code, so the code of a tier never changes."""

    list_display = ["name", "code", "sort_order"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def has_delete_permission(self, request, obj=None):
        return False


class AssetChangeInline(admin.TabularInline):
    model = AssetChange
    extra = 0
    can_delete = False
    fields = ["changed_at", "changed_by", "kind", "changes", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Asset)
class AssetAdmin(ReadOnlyAdmin):
    """Read-only: classify and edit on the register's pages, which keep the history."""

    list_display = ["name", "section", "confidentiality", "integrity", "availability", "tier"]
    list_filter = ["status", "tier", "confidentiality"]
    list_select_related = ["section", "confidentiality", "integrity", "availability", "tier"]
    search_fields = ["name"]
    inlines = [AssetChangeInline]


@admin.register(AssetChange)
class AssetChangeAdmin(ReadOnlyAdmin):
    list_display = ["asset", "kind", "changed_by", "changed_at"]
    list_filter = ["kind"]
    list_select_related = ["asset", "changed_by"]
    date_hierarchy = "changed_at"


@admin.register(AssetRelation)
class AssetRelationAdmin(ReadOnlyAdmin):
    list_display = ["source", "kind", "target"]
    list_select_related = ["source", "target"]
