"""People and organisation in the API, for the programme admin: personnel batches
(GET list and detail, POST upload, POST schedule and cancel) and postings (who was posted
where, on a date if asked). Every action goes through isms.personnel.services, as the pages
do; anyone else gets 403."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ..models import BatchKind, PersonnelBatch, Posting
from ..personnel import services
from .fields import IdField, query_params


class IsProgrammeAdmin(permissions.BasePermission):
    def has_permission(self, request, view):
        return services.can_manage_people(request.user)


class PersonnelBatchSerializer(serializers.ModelSerializer):
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    scheduled_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    file_name = serializers.CharField(source="original_name", read_only=True)
    errors = serializers.ListField(child=serializers.DictField(), read_only=True)
    preview = serializers.DictField(read_only=True)

    class Meta:
        model = PersonnelBatch
        fields = [
            "id",
            "kind",
            "status",
            "file_name",
            "sha256",
            "effective_on",
            "rows_checked",
            "error_count",
            "errors",
            "preview",
            "created_by",
            "created_at",
            "scheduled_by",
            "scheduled_at",
            "finished_at",
        ]
        read_only_fields = fields


class UploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=BatchKind.choices)
    file = serializers.FileField()
    effective_on = serializers.DateField(required=False, allow_null=True)

    def validate_file(self, uploaded):
        return services.check_upload(uploaded)  # what the page refuses, the API refuses too


class ScheduleSerializer(serializers.Serializer):
    effective_on = serializers.DateField()


class PersonnelBatchViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Personnel batches: upload a file (checked by a job into a preview), then schedule
    it for its effective date (today: applied at once) or cancel it."""

    serializer_class = PersonnelBatchSerializer
    permission_classes = [permissions.IsAuthenticated, IsProgrammeAdmin]
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # the schema generator's fake request
            return PersonnelBatch.objects.none()
        return services.visible_batches(self.request.user).defer("rows")

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={202: PersonnelBatchSerializer},
    )
    def create(self, request):
        serializer = UploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = services.upload_batch(
            serializer.validated_data["file"],
            serializer.validated_data["kind"],
            by=request.user,
            effective_on=serializer.validated_data.get("effective_on"),
            request=request,
        )
        return Response(PersonnelBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ScheduleSerializer, responses={200: PersonnelBatchSerializer})
    @action(detail=True, methods=["post"])
    def schedule(self, request, pk=None):
        batch = self.get_object()
        serializer = ScheduleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        batch = services.schedule_batch(
            batch.pk, serializer.validated_data["effective_on"], by=request.user, request=request
        )
        return Response(PersonnelBatchSerializer(batch).data)

    @extend_schema(request=None, responses={200: PersonnelBatchSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        batch = self.get_object()
        batch = services.cancel_batch(batch.pk, by=request.user, request=request)
        return Response(PersonnelBatchSerializer(batch).data)


class PostingSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)
    unit = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Posting
        fields = [
            "id",
            "user",
            "unit",
            "post",
            "employment_type",
            "valid_from",
            "valid_until",
            "batch",
        ]
        read_only_fields = fields


class PostingQuery(serializers.Serializer):
    user = IdField(required=False, help_text="Only this person's postings (their id).")
    unit = serializers.SlugField(required=False, help_text="Only postings in this unit (code).")
    on = serializers.DateField(required=False, help_text="Only postings that held on this day.")


class PostingViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Who was posted where: every posting, or those of a person, of a unit, on a day."""

    serializer_class = PostingSerializer
    permission_classes = [permissions.IsAuthenticated, IsProgrammeAdmin]

    def get_queryset(self):
        postings = Posting.objects.select_related("user", "unit").order_by(
            "user_id", "-valid_from", "-id"
        )
        if not self.request.user.is_authenticated:
            return postings.none()
        params = query_params(self.request, PostingQuery)
        if "user" in params:
            postings = postings.filter(user_id=params["user"])
        if "unit" in params:
            postings = postings.filter(unit__code=params["unit"])
        if "on" in params:
            postings = postings.on(params["on"])
        return postings

    @extend_schema(parameters=[PostingQuery])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)
