from django.contrib import admin

from .models import Choice, Course, CourseFile, Question


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
