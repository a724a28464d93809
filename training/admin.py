from django.contrib import admin

from isms.admin import ReadOnlyAdmin

from .models import (
    Acknowledgement,
    AcknowledgementCampaign,
    Choice,
    Course,
    CourseFile,
    Question,
)


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


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 3


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "course", "order"]
    list_filter = ["course"]
    inlines = [ChoiceInline]


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 1
    show_change_link = True


class CourseFileInline(admin.TabularInline):
    model = CourseFile
    extra = 0


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    """Courses are written here; publishing (which assigns them) is done on the course page
    so that enrolments and the audit trail follow."""

    list_display = ["title", "fiscal_year", "deadline", "audience", "is_published"]
    list_filter = ["fiscal_year", "is_published", "audience"]
    filter_horizontal = ["departments"]
    readonly_fields = ["is_published", "published_at", "created_by"]
    inlines = [CourseFileInline, QuestionInline]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
