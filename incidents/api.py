"""Incidents through the API, with the rules of the pages: incidents.access decides what is
visible, incidents.services who may act; isms/api/errors.py turns their PermissionDenied
and ValidationError (WorkflowError included) into 403 and 400.

An incident the caller may not see is a 404, never a 403, so its existence does not leak.
A reporter who does not read the handling (access.reads_details) gets their report and its
progress, with `handling` null."""

from django.apps import apps
from django.db.models import Prefetch
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from isms import evidence as evidence_store
from isms.api.fields import file_upload, uploaded_file
from isms.models import Department
from isms.pickers import PersonRelatedField

from . import access, services
from .filters import IncidentFilter, ObligationFilter
from .models import (
    Attachment,
    Category,
    Contact,
    Decision,
    Drill,
    EntryKind,
    Incident,
    Lesson,
    Obligation,
    ObligationStage,
    PostIncidentReview,
    Severity,
    StageStatus,
    Status,
    TimelineEntry,
)


def check_handles(user) -> None:
    """Refuse people who do not handle incidents before reading what they sent."""
    if not access.handles(user):
        raise PermissionDenied(_("Only the CSIRT and the CISO's office handle incidents."))


class ReadsAll(permissions.BasePermission):
    message = _("Only the CSIRT, the CISO's office and the auditors read this.")

    def has_permission(self, request, view):
        return access.reads_all(request.user)


# --- serializers ---------------------------------------------------------------------------


class IncidentAttachmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attachment
        fields = [
            "id",
            "incident",
            "original_name",
            "content_type",
            "size",
            "sha256",
            "uploaded_at",
        ]


class ReportStageSerializer(serializers.ModelSerializer):
    class Meta:
        model = ObligationStage
        fields = ["id", "name", "status", "due_at", "sent_at", "acknowledged_at", "note"]


class ObligationSerializer(serializers.ModelSerializer):
    authority = serializers.CharField(source="rule.authority.name", read_only=True)
    rule = serializers.CharField(source="rule.name", read_only=True)
    basis = serializers.CharField(source="rule.basis", read_only=True)
    configurable = serializers.BooleanField(
        source="rule.configurable",
        read_only=True,
        help_text="The law's details vary: the CSIRT confirms whether and when to report.",
    )
    decided_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    stages = ReportStageSerializer(many=True, read_only=True)

    class Meta:
        model = Obligation
        fields = [
            "id",
            "incident",
            "authority",
            "rule",
            "basis",
            "configurable",
            "decision",
            "reason",
            "decided_by",
            "decided_at",
            "stages",
        ]


class LessonSerializer(serializers.ModelSerializer):
    class Meta:
        model = Lesson
        fields = ["change", "to_policy_review"]


class PostIncidentReviewSerializer(serializers.ModelSerializer):
    reviewed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    lessons = LessonSerializer(many=True, read_only=True)

    class Meta:
        model = PostIncidentReview
        fields = ["incident", "causes", "what_worked", "reviewed_by", "reviewed_at", "lessons"]


class IncidentHandlingSerializer(serializers.ModelSerializer):
    """The handling of an incident, nested in it (source "*"): null for a caller who does
    not read it. Declared once for the list, not built again for every row."""

    category = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    network_tier = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    # Blank until triage (a read-only model field would lose allow_blank, and the schema
    # would not admit the blank).
    severity = serializers.ChoiceField(choices=Severity.choices, allow_blank=True, read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    affected_assets = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    obligations = ObligationSerializer(many=True, read_only=True)
    review = PostIncidentReviewSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Incident
        fields = [
            "category",
            "severity",
            "network_tier",
            "affected_assets",
            "affected_people",
            "owner",
            "detected_at",
            "dismissed_reason",
            "obligations",
            "review",
        ]
        read_only_fields = fields

    def get_attribute(self, instance):
        # IncidentViewSet's queryset says it for every row at once; access.reads_details
        # for an incident from anywhere else.
        visible = getattr(instance, "details_visible", None)
        if visible is None:
            visible = access.reads_details(self.context["request"].user, instance)
        return instance if visible else None


class IncidentSerializer(serializers.ModelSerializer):
    department = serializers.SlugRelatedField(slug_field="code", read_only=True)
    reported_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    attachments = IncidentAttachmentSerializer(many=True, read_only=True)
    handling = IncidentHandlingSerializer(
        source="*",
        read_only=True,
        allow_null=True,
        help_text="How the incident is handled: null for a reporter who sees only their report.",
    )

    class Meta:
        model = Incident
        fields = [
            "id",
            "number",
            "title",
            "description",
            "occurred_at",
            "department",
            "location",
            "personal_data",
            "my_number",
            "reported_by",
            "reported_at",
            "status",
            "triaged_at",
            "closed_at",
            "attachments",
            "handling",
        ]
        read_only_fields = fields


class IncidentReportSerializer(serializers.ModelSerializer):
    """What anyone signed in, or a monitoring system with an API token, reports."""

    department = serializers.SlugRelatedField(slug_field="code", queryset=Department.objects.all())

    class Meta:
        model = Incident
        fields = [
            "title",
            "description",
            "occurred_at",
            "department",
            "location",
            "personal_data",
            "my_number",
        ]


@extend_schema_field(OpenApiTypes.INT)
class AssetIdField(serializers.PrimaryKeyRelatedField):
    """An asset by id, among those the incident may name (access.nameable_assets): any
    other id gets the same "does not exist" error as an id that does not exist."""

    def get_queryset(self):
        incident = self.context.get("incident")
        if incident is None:
            return apps.get_model("assets", "Asset")._default_manager.none()
        return access.nameable_assets(incident)


class TriageSerializer(serializers.Serializer):
    category = serializers.SlugRelatedField(slug_field="code", queryset=Category.objects.all())
    severity = serializers.ChoiceField(choices=Severity.choices)
    # The service checks that the owner handles incidents.
    owner = PersonRelatedField()
    network_tier = serializers.SlugRelatedField(
        slug_field="code",
        queryset=apps.get_model("assets", "NetworkTier")._default_manager.all(),
        required=False,
        allow_null=True,
    )
    affected_assets = AssetIdField(many=True, required=False)
    affected_people = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**31 - 1
    )
    detected_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When the city first knew, if earlier than the report.",
    )
    personal_data = serializers.BooleanField(required=False, allow_null=True, default=None)
    my_number = serializers.BooleanField(required=False, allow_null=True, default=None)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class MoveSerializer(serializers.Serializer):
    to = serializers.ChoiceField(
        choices=Status.choices,
        help_text="contained, eradicated, recovered, closed, or dismissed (with a note).",
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField()


class TimelineEntrySerializer(serializers.ModelSerializer):
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    kind = serializers.ChoiceField(
        choices=EntryKind.choices,
        help_text="detection, action, decision or communication (status is the services').",
    )

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "text", "author", "created_at"]
        read_only_fields = ["created_at"]


class ReviewSerializer(serializers.Serializer):
    causes = serializers.CharField()
    what_worked = serializers.CharField(required=False, allow_blank=True, default="")
    changes = LessonSerializer(many=True, required=False, default=list)


class DecideSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(
        choices=Decision.choices, help_text="required, or not_required (with a reason)."
    )
    reason = serializers.CharField(required=False, allow_blank=True, default="")


class AdvanceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=StageStatus.choices, help_text="drafted, sent or acknowledged; never back."
    )
    note = serializers.CharField(required=False, allow_blank=True, default="")


class DrillSerializer(serializers.ModelSerializer):
    recorded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Drill
        fields = [
            "id",
            "held_on",
            "scenario",
            "participants",
            "lessons",
            "recorded_by",
            "recorded_at",
        ]


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "code", "name", "description"]


class ContactSerializer(serializers.ModelSerializer):
    person = serializers.SlugRelatedField(slug_field="username", read_only=True)
    person_name = serializers.CharField(source="person", read_only=True)
    deputy = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    deputy_name = serializers.CharField(source="deputy", read_only=True, allow_null=True)

    class Meta:
        model = Contact
        fields = ["id", "order", "duty", "person", "person_name", "deputy", "deputy_name", "phone"]


# --- viewsets ------------------------------------------------------------------------------


class IncidentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Incidents the caller may see, newest first. POST reports one: anyone signed in, a
    monitoring system with an API token too."""

    queryset = Incident.objects.none()  # for the schema; get_queryset() scopes it
    serializer_class = IncidentSerializer
    filterset_class = IncidentFilter

    def get_queryset(self):
        user = self.request.user
        obligations = Obligation.objects.select_related("rule__authority", "decided_by")
        return (
            access.visible_incidents(user)
            .annotate(details_visible=access.details_visible(user))
            # Three joins, the rest prefetched: PostgreSQL spent 20 ms planning a join of
            # seven tables (bench/incident_lists.py).
            .select_related("department", "reported_by", "owner")
            .prefetch_related(
                "category",
                "network_tier",
                "review__reviewed_by",
                "affected_assets",
                "attachments",
                Prefetch("obligations", queryset=obligations.prefetch_related("stages")),
                "review__lessons",
            )
        )

    def fresh(self, incident, status_code=status.HTTP_200_OK):
        """The incident as the caller now sees it, after an action."""
        incident = self.get_queryset().get(pk=incident.pk)
        return Response(self.get_serializer(incident).data, status=status_code)

    @extend_schema(request=IncidentReportSerializer, responses={201: IncidentSerializer})
    def create(self, request, *args, **kwargs):
        serializer = IncidentReportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        incident = services.report(by=request.user, request=request, **serializer.validated_data)
        return self.fresh(incident, status.HTTP_201_CREATED)

    @extend_schema(request=TriageSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def triage(self, request, pk=None):
        incident = self.get_object()
        check_handles(request.user)
        serializer = TriageSerializer(
            data=request.data, context={"request": request, "incident": incident}
        )
        serializer.is_valid(raise_exception=True)
        services.triage(incident, by=request.user, request=request, **serializer.validated_data)
        return self.fresh(incident)

    @extend_schema(request=MoveSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        incident = self.get_object()
        check_handles(request.user)
        serializer = MoveSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.move(incident, data["to"], by=request.user, note=data["note"], request=request)
        return self.fresh(incident)

    @extend_schema(request=ReopenSerializer, responses=IncidentSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        incident = self.get_object()
        check_handles(request.user)
        serializer = ReopenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.reopen(
            incident, by=request.user, reason=serializer.validated_data["reason"], request=request
        )
        return self.fresh(incident)

    @extend_schema(methods=["GET"], responses=TimelineEntrySerializer(many=True))
    @extend_schema(
        methods=["POST"], request=TimelineEntrySerializer, responses={201: TimelineEntrySerializer}
    )
    # pagination_class=None: the timeline is not paginated, and the schema must not say it is.
    @action(detail=True, methods=["get", "post"], pagination_class=None, filterset_class=None)
    def entries(self, request, pk=None):
        incident = self.get_object()
        if request.method == "GET":
            if not access.reads_details(request.user, incident):
                raise PermissionDenied(
                    _("The timeline is read by those who handle or oversee the incident.")
                )
            timeline = incident.timeline.select_related("author")
            return Response(TimelineEntrySerializer(timeline, many=True).data)
        check_handles(request.user)
        serializer = TimelineEntrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.add_entry(incident, by=request.user, **serializer.validated_data)
        return Response(TimelineEntrySerializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=file_upload("IncidentAttachmentUpload"),
        responses={201: IncidentAttachmentSerializer},
    )
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request, pk=None):
        incident = self.get_object()
        uploaded = uploaded_file(request)
        attachment = services.attach(incident, uploaded, by=request.user, request=request)
        return Response(
            IncidentAttachmentSerializer(attachment).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(request=ReviewSerializer, responses={201: PostIncidentReviewSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        incident = self.get_object()
        check_handles(request.user)
        serializer = ReviewSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        post_review = services.record_review(
            incident,
            by=request.user,
            request=request,
            causes=data["causes"],
            what_worked=data["what_worked"],
            changes=[
                (lesson["change"], lesson.get("to_policy_review", False))
                for lesson in data["changes"]
            ],
        )
        return Response(
            PostIncidentReviewSerializer(post_review).data, status=status.HTTP_201_CREATED
        )


class AttachmentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """An attachment's metadata, and the file itself at /download/, for those who may read
    its incident."""

    queryset = Attachment.objects.none()
    serializer_class = IncidentAttachmentSerializer

    def get_object(self):
        # One answer for an id that does not exist and for a file the caller may not read.
        # DRF's get_object_or_404 answers 404, not 500, for an id that is not a number.
        try:
            attachment = generics.get_object_or_404(Attachment.objects.all(), pk=self.kwargs["pk"])
        except Http404:
            attachment = None
        if attachment is None or not services.can_download(self.request.user, attachment):
            raise Http404
        return attachment

    @extend_schema(
        responses={
            (200, content_type): bytes
            for content_type in sorted({t for t, _ in evidence_store.EVIDENCE_TYPES.values()})
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        return evidence_store.download_response(self.get_object())


class ObligationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """The reporting obligations of the incidents whose handling the caller reads, each with
    its report stages and their deadlines."""

    queryset = Obligation.objects.none()
    serializer_class = ObligationSerializer
    filterset_class = ObligationFilter

    def get_queryset(self):
        return (
            Obligation.objects.filter(incident__in=access.incidents_with_details(self.request.user))
            .select_related("rule__authority", "decided_by")
            .prefetch_related("stages")
            .order_by("-incident_id", "rule__authority__order", "pk")
        )

    @extend_schema(request=DecideSerializer, responses=ObligationSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        obligation = self.get_object()
        check_handles(request.user)
        serializer = DecideSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        services.decide(
            obligation, data["decision"], by=request.user, reason=data["reason"], request=request
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=obligation.pk)).data)


class ReportStageViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """One report of an obligation (速報, 確報…) and its clock; POST advance/ moves it on."""

    queryset = ObligationStage.objects.none()
    serializer_class = ReportStageSerializer

    def get_queryset(self):
        return ObligationStage.objects.filter(
            obligation__incident__in=access.incidents_with_details(self.request.user)
        )

    @extend_schema(request=AdvanceSerializer, responses=ReportStageSerializer)
    @action(detail=True, methods=["post"])
    def advance(self, request, pk=None):
        stage = self.get_object()
        check_handles(request.user)
        serializer = AdvanceSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        stage = services.advance_stage(
            stage, data["status"], by=request.user, note=data["note"], request=request
        )
        return Response(ReportStageSerializer(stage).data)


class DrillViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Drills of the emergency response plan, read by the CSIRT, the CISO's office and the
    auditors; recorded by the CSIRT and the CISO's office."""

    queryset = Drill.objects.none()
    serializer_class = DrillSerializer
    permission_classes = [permissions.IsAuthenticated, ReadsAll]

    def get_queryset(self):
        return Drill.objects.select_related("recorded_by")

    def create(self, request, *args, **kwargs):
        check_handles(request.user)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        drill = services.record_drill(by=request.user, request=request, **serializer.validated_data)
        return Response(DrillSerializer(drill).data, status=status.HTTP_201_CREATED)


class CategoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The kinds of threat an incident is classified by, for anyone signed in (the report
    form offers them)."""

    queryset = Category.objects.all()
    serializer_class = CategorySerializer
    pagination_class = None


class ContactViewSet(viewsets.ReadOnlyModelViewSet):
    """The contact tree of the emergency response plan, in the order to call."""

    queryset = Contact.objects.select_related("person", "deputy")
    serializer_class = ContactSerializer
    permission_classes = [permissions.IsAuthenticated, ReadsAll]
    pagination_class = None
