"""Import jobs in the API: GET /api/imports/ (the jobs the caller may see, newest first)
and GET /api/imports/<id>/ (one job: its progress, then its result and every problem)."""

from django.urls import reverse
from rest_framework import mixins, serializers, viewsets

from ..imports import rows_written_so_far, visible_jobs
from ..models import ImportJob


class ImportJobSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    scope = serializers.SlugRelatedField(slug_field="code", read_only=True)
    file_name = serializers.CharField(source="original_name", read_only=True)
    rows_written = serializers.SerializerMethodField()
    errors = serializers.ListField(child=serializers.DictField(), read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ImportJob
        fields = [
            "id",
            "kind",
            "status",
            "file_name",
            "size",
            "sha256",
            "scope",
            "created_by",
            "rows_checked",
            "rows_written",
            "error_count",
            "errors",
            "created_at",
            "started_at",
            "finished_at",
            "url",
        ]
        read_only_fields = fields

    def get_rows_written(self, job) -> int:
        return rows_written_so_far(job)

    def get_url(self, job) -> str:
        return reverse("api-import-job-detail", args=[job.pk])


class ImportJobViewSet(mixins.RetrieveModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportJobSerializer
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return visible_jobs(self.request.user).select_related("scope", "created_by")
