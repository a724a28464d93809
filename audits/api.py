"""The audit cycle through the API, with the same rules as the pages: audits.access decides
what is visible, audits.services who may act; isms/api/errors.py turns their
PermissionDenied and ValidationError into 403 and 400."""

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.http import Http404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from isms import evidence as evidence_store
from isms.api.fields import file_upload, uploaded_file
from isms.models import Department
from isms.pickers import PersonRelatedField, VisibleRelatedField

from . import access, services
from .filters import AnswerFilter, FindingFilter, InspectionFilter
from .models import (
    Answer,
    ChecklistItem,
    CorrectiveAction,
    Cycle,
    Evidence,
    Finding,
    Inspection,
    Result,
    Severity,
)

User = get_user_model()


class CycleSerializer(serializers.ModelSerializer):
    departments = serializers.SlugRelatedField(
        slug_field="code", many=True, queryset=Department.objects.all()
    )

    class Meta:
        model = Cycle
        fields = [
            "id",
            "name",
            "kind",
            "fiscal_year",
            "checklist",
            "departments",
            "starts_on",
            "due_on",
            "created_at",
        ]


class AssignSerializer(serializers.Serializer):
    department = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.all())
    auditor = serializers.SlugRelatedField(
        slug_field="username", queryset=User.objects.filter(is_active=True)
    )


class CycleViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Cycle.objects.none()
    serializer_class = CycleSerializer
    filterset_fields = ["kind", "fiscal_year"]

    def get_queryset(self):
        if not access.uses_audits(self.request.user):
            return Cycle.objects.none()
        return (
            access.visible_cycles(self.request.user)
            .distinct()
            .prefetch_related("departments")
            .order_by("-fiscal_year", "-pk")
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        departments = data.pop("departments")
        cycle = services.open_cycle(
            by=request.user, departments=departments, request=request, **data
        )
        return Response(CycleSerializer(cycle).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AssignSerializer, responses={201: AssignSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        # Before the lookup: people outside the audit programme see no cycle at all.
        services.check_assigns_auditors(request.user)
        cycle = self.get_object()
        serializer = AssignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.assign_auditor(
            cycle, by=request.user, request=request, **serializer.validated_data
        )
        return Response(serializer.data, status=status.HTTP_201_CREATED)


class ChecklistItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChecklistItem
        fields = ["id", "checklist", "area", "number", "text", "policy_reference"]


class ChecklistItemViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ChecklistItem.objects.none()
    serializer_class = ChecklistItemSerializer
    filterset_fields = ["checklist", "area"]

    def get_queryset(self):
        if not access.uses_audits(self.request.user):
            return ChecklistItem.objects.none()
        return ChecklistItem.objects.order_by("checklist", "pk")


class InspectionSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    answered = serializers.IntegerField(read_only=True)

    class Meta:
        model = Inspection
        fields = [
            "id",
            "cycle",
            "department",
            "status",
            "submitted_at",
            "returned_reason",
            "answered",
        ]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField()


class InspectionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Inspection.objects.none()
    serializer_class = InspectionSerializer
    filterset_class = InspectionFilter

    def get_queryset(self):
        return (
            access.visible_inspections(self.request.user)
            .select_related("department")
            .annotate(answered=Count("answers"))
            .order_by("cycle", "department")
        )

    @extend_schema(request=None, responses=InspectionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        inspection = self.get_object()
        services.submit(inspection, by=request.user, request=request)
        return Response(InspectionSerializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(request=ReasonSerializer, responses=InspectionSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_for_correction(self, request, pk=None):
        inspection = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.return_for_correction(
            inspection,
            by=request.user,
            request=request,
            reason=serializer.validated_data["reason"],
        )
        return Response(InspectionSerializer(self.get_queryset().get(pk=pk)).data)


class AnswerSerializer(serializers.ModelSerializer):
    inspection = VisibleRelatedField(model=Inspection, visible=access.visible_inspections)
    answered_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    result = serializers.ChoiceField(choices=Result.choices)

    class Meta:
        model = Answer
        fields = ["id", "inspection", "item", "result", "comment", "answered_by", "answered_at"]
        read_only_fields = ["answered_at"]
        validators = []  # one answer per item: posting again updates it


class FromAnswerSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
    recommendation = serializers.CharField(required=False, allow_blank=True)


class FindingSerializer(serializers.ModelSerializer):
    cycle = VisibleRelatedField(model=Cycle, visible=access.visible_cycles)
    department = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.all())
    # The revisions citing the finding on the policy review backlog (isms.review): a field
    # of its own once, kept for the clients that read it.
    addressed_by = serializers.SerializerMethodField()

    class Meta:
        model = Finding
        fields = [
            "id",
            "cycle",
            "department",
            "item",
            "area",
            "title",
            "severity",
            "description",
            "recommendation",
            "related_assets",
            "status",
            "needs_policy_review",
            "source_answer",
            "addressed_by",
            "created_at",
            "closed_at",
        ]
        read_only_fields = ["status", "source_answer", "created_at", "closed_at"]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_addressed_by(self, finding: Finding) -> list[int]:
        # A list's findings come with theirs (FindingViewSet.paginate_queryset).
        cited = getattr(finding, "cited_revision_ids", None)
        if cited is None:
            cited = services.revisions_citing([finding])[finding.pk]
        return cited


class AnswerViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """POST {inspection, item, result, comment} answers an item, or changes the answer."""

    queryset = Answer.objects.none()
    serializer_class = AnswerSerializer
    filterset_class = AnswerFilter

    def get_queryset(self):
        return (
            Answer.objects.filter(inspection__in=access.visible_inspections(self.request.user))
            .select_related("answered_by")
            .order_by("inspection", "item_id")
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        inspection = data["inspection"]  # one the caller may see (VisibleRelatedField)
        services.save_answers(
            inspection,
            {data["item"].pk: (data["result"], data.get("comment", ""))},
            by=request.user,
            request=request,
        )
        answer = Answer.objects.get(inspection=inspection, item=data["item"])
        return Response(AnswerSerializer(answer).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=FromAnswerSerializer, responses={201: FindingSerializer})
    @action(detail=True, methods=["post"])
    def finding(self, request, pk=None):
        answer = self.get_object()
        serializer = FromAnswerSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = services.finding_from_answer(
            answer, by=request.user, request=request, **serializer.validated_data
        )
        return Response(FindingSerializer(finding).data, status=status.HTTP_201_CREATED)


class FindingUpdateSerializer(FindingSerializer):
    cycle = serializers.PrimaryKeyRelatedField(read_only=True)
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta(FindingSerializer.Meta):
        read_only_fields = [
            *FindingSerializer.Meta.read_only_fields,
            "cycle",
            "item",
            "related_assets",
        ]


class CorrectiveActionSerializer(serializers.ModelSerializer):
    # The service checks that the owner may read the finding (audits.owners.check_owner).
    owner = PersonRelatedField()

    class Meta:
        model = CorrectiveAction
        fields = ["id", "finding", "owner", "plan", "due_on", "created_at"]
        read_only_fields = ["finding", "created_at"]


class EvidenceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Evidence
        fields = [
            "id",
            "answer",
            "finding",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_at",
        ]


class FindingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Finding.objects.none()
    filterset_class = FindingFilter

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return FindingUpdateSerializer
        return FindingSerializer

    def get_queryset(self):
        return (
            access.visible_findings(self.request.user)
            .select_related("department")
            .prefetch_related("related_assets")
            .order_by("-pk")
        )

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if page is not None:
            cited = services.revisions_citing(page)
            for finding in page:
                finding.cited_revision_ids = cited[finding.pk]
        return page

    def create(self, request, *args, **kwargs):
        # Refuse people who never record findings before reading what they sent.
        services.check_records_findings(request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        finding = services.record_finding(
            by=request.user,
            request=request,
            related_assets=data.pop("related_assets", []),
            **data,
        )
        return Response(FindingSerializer(finding).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        finding = self.get_object()
        serializer = self.get_serializer(
            finding, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        finding = services.update_finding(
            finding, by=request.user, request=request, **serializer.validated_data
        )
        return Response(FindingSerializer(finding).data)

    @extend_schema(request=None, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        finding = services.close_finding(self.get_object(), by=request.user, request=request)
        return Response(FindingSerializer(finding).data)

    @extend_schema(request=ReasonSerializer, responses=FindingSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        finding = self.get_object()
        serializer = ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        finding = services.reopen_finding(
            finding,
            by=request.user,
            request=request,
            reason=serializer.validated_data["reason"],
        )
        return Response(FindingSerializer(finding).data)

    @extend_schema(
        request=CorrectiveActionSerializer,
        responses={200: CorrectiveActionSerializer(many=True), 201: CorrectiveActionSerializer},
    )
    # pagination_class=None: the list is not paginated, and the schema must not say it is.
    @action(
        detail=True, methods=["get", "post"], url_path="corrective-actions", pagination_class=None
    )
    def corrective_actions(self, request, pk=None):
        finding = self.get_object()
        if request.method == "GET":
            return Response(
                CorrectiveActionSerializer(
                    finding.corrective_actions.select_related("owner"), many=True
                ).data
            )
        serializer = CorrectiveActionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        corrective = services.add_corrective_action(
            finding, by=request.user, request=request, **serializer.validated_data
        )
        return Response(CorrectiveActionSerializer(corrective).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=file_upload("EvidenceUpload"),
        responses={201: EvidenceSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def evidence(self, request, pk=None):
        finding = self.get_object()
        uploaded = uploaded_file(request)
        evidence = services.attach_evidence(
            uploaded, by=request.user, finding=finding, request=request
        )
        return Response(EvidenceSerializer(evidence).data, status=status.HTTP_201_CREATED)


class EvidenceViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Evidence metadata, and the file itself at /download/, for those who may see the
    answer or finding it backs."""

    queryset = Evidence.objects.none()
    serializer_class = EvidenceSerializer

    def get_object(self):
        # DRF's get_object_or_404 answers 404, not 500, for an id that is not a number; its
        # message names the model, so it is replaced: evidence the caller may not read and
        # evidence that does not exist get the same answer.
        try:
            evidence = generics.get_object_or_404(
                Evidence.objects.select_related("answer"), pk=self.kwargs["pk"]
            )
        except Http404:
            raise Http404 from None
        if not services.can_download(self.request.user, evidence):
            raise Http404
        return evidence

    @extend_schema(
        responses={
            (200, content_type): bytes
            for content_type in sorted({t for t, _ in evidence_store.EVIDENCE_TYPES.values()})
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        evidence = self.get_object()
        return evidence_store.download_response(evidence)
