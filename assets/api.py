from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from isms.api.imports import ImportJobSerializer
from isms.imports import ImportRefused
from isms.models import Department
from isms.pickers import PersonRelatedField

from . import services, transfer
from .access import visible_assets, visible_history
from .filters import AssetFilter, above_public
from .models import Asset, AssetChange, Axis, ClassificationLevel, NetworkTier
from .tier_rules import rules_broken_by


class LevelField(serializers.SlugRelatedField):
    """A classification level by its code ("2", "3A") within the active scheme."""

    def __init__(self, axis, **kwargs):
        self.axis = axis
        super().__init__(slug_field="code", **kwargs)

    def get_queryset(self):
        return ClassificationLevel.objects.filter(scheme__is_active=True, axis=self.axis)


class AssetSerializer(serializers.ModelSerializer):
    section = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.all())
    tier = serializers.SlugRelatedField(slug_field="code", queryset=NetworkTier.objects.all())
    confidentiality = LevelField(Axis.CONFIDENTIALITY)
    integrity = LevelField(Axis.INTEGRITY)
    availability = LevelField(Axis.AVAILABILITY)
    # The service checks that the custodian belongs to the asset's department.
    custodian = PersonRelatedField(required=False, allow_null=True)
    reason = serializers.CharField(
        write_only=True,
        required=False,
        allow_blank=True,
        help_text="Required when confidentiality, integrity or availability changes.",
    )

    class Meta:
        model = Asset
        fields = [
            "id",
            "name",
            "kind",
            "description",
            "section",
            "custodian",
            "location",
            "tier",
            "has_personal_data",
            "has_my_number",
            "external_service",
            "contract_reference",
            "confidentiality",
            "integrity",
            "availability",
            "status",
            "last_reviewed_on",
            "created_at",
            "updated_at",
            "reason",
        ]
        read_only_fields = ["last_reviewed_on", "created_at", "updated_at"]


class AssetChangeSerializer(serializers.ModelSerializer):
    changed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = AssetChange
        fields = ["id", "kind", "changed_by", "changed_at", "changes", "reason"]


class AssetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The register, with the same filters and the same rules as the pages: a person sees
    public assets, those of their own section and of the units they manage; section chiefs
    and department heads change their own; auditors and the CISO's office read all."""

    queryset = Asset.objects.none()  # for the schema; get_queryset() scopes it
    serializer_class = AssetSerializer
    filterset_class = AssetFilter

    def get_queryset(self):
        return (
            visible_assets(self.request.user, public=not above_public(self.request.query_params))
            .select_related(
                "section", "tier", "confidentiality", "integrity", "availability", "custodian"
            )
            .order_by("section_id", "name", "pk")
        )

    # The services decide who may add and change an asset; isms/api/errors.py turns their
    # PermissionDenied and ValidationError into 403 and 400.
    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("reason", None)
        serializer.instance = services.create_asset(
            by=self.request.user, request=self.request, **data
        )

    def update(self, request, *args, **kwargs):
        # Refuse people who may not change the asset before looking at what they sent.
        services.check_may_change(request.user, self.get_object())
        return super().update(request, *args, **kwargs)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        reason = data.pop("reason", "")
        serializer.instance, _change = services.update_asset(
            serializer.instance, by=self.request.user, reason=reason, request=self.request, **data
        )

    @extend_schema(responses=AssetChangeSerializer(many=True))
    @action(detail=True, methods=["get"], filterset_class=None)
    def history(self, request, pk=None):
        asset = self.get_object()
        page = self.paginate_queryset(
            visible_history(request.user, asset).select_related("changed_by")
        )
        return self.get_paginated_response(AssetChangeSerializer(page, many=True).data)

    @extend_schema(
        responses=inline_serializer(
            "BrokenRules", {"rules": serializers.ListField(child=serializers.DictField())}
        )
    )
    @action(detail=True, methods=["get"], filterset_class=None)
    def rules(self, request, pk=None):
        asset = self.get_object()
        return Response(
            {"rules": [{"code": r.code, "title": str(r.title)} for r in rules_broken_by(asset)]}
        )

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "AssetImport", {"file": serializers.FileField()}
            )
        },
        responses={
            202: ImportJobSerializer,
            400: inline_serializer("AssetImportFileError", {"file": serializers.ListField()}),
            409: inline_serializer("AssetImportRefused", {"detail": serializers.CharField()}),
        },
        description=(
            "Accepts the file and answers at once with its import job (202, Location: the "
            "job); GET /api/imports/<id>/ follows it until it has succeeded or failed with "
            "every problem. 409 when the same file is already imported or being imported, "
            "or an import of the caller's unit is still running."
        ),
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
        filterset_class=None,
    )
    def import_file(self, request):
        transfer.check_may_import(request.user)  # before the file is read
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise ValidationError({"file": ["Upload a .csv or .xlsx file as 'file'."]})
        from .forms import ImportForm

        form = ImportForm(files={"file": uploaded}, data={})
        if not form.is_valid():
            raise ValidationError(form.errors)
        try:
            job = transfer.start_import(uploaded, by=request.user, request=request)
        except ImportRefused as refused:
            return Response({"detail": refused.message}, status=status.HTTP_409_CONFLICT)
        job.refresh_from_db()  # inline (no Redis) the job has already run
        data = ImportJobSerializer(job).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": data["url"]})

    @extend_schema(
        parameters=[OpenApiParameter("output", str, enum=["csv", "xlsx"])],
        responses={
            (200, "text/csv"): bytes,
            (200, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"): bytes,
        },
    )
    @action(detail=False, methods=["get"], url_path="export")
    def export(self, request):
        output = "xlsx" if request.query_params.get("output") == "xlsx" else "csv"
        return transfer.export(self.filter_queryset(self.get_queryset()), output)
