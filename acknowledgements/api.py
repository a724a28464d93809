import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from isms.api.fields import IdField, query_params
from isms.pickers import VisibleChoiceFilter

from . import access
from . import services as acks
from .models import Acknowledgement, AcknowledgementCampaign


class AcknowledgementFilter(django_filters.FilterSet):
    revision = VisibleChoiceFilter(visible=access.readable_revisions)

    class Meta:
        model = Acknowledgement
        fields = ["revision"]


class AcknowledgementSerializer(serializers.ModelSerializer):
    """An acknowledgement as the API shows it; what POST takes is AcknowledgeSerializer."""

    revision = serializers.PrimaryKeyRelatedField(read_only=True)
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Acknowledgement
        fields = [
            "id",
            "user",
            "revision",
            "content_sha256",
            "acknowledged_at",
            "ip_address",
            "user_agent",
        ]
        read_only_fields = ["content_sha256", "acknowledged_at", "ip_address", "user_agent"]


class AcknowledgeSerializer(serializers.Serializer):
    """What POST /api/acknowledgements/ takes: the id of the revision read."""

    revision = IdField(
        error_messages={
            "invalid": "No such revision.",
            "min_value": "No such revision.",
            "max_value": "No such revision.",
        }
    )


class PendingSerializer(serializers.ModelSerializer):
    revision = serializers.IntegerField(source="revision_id")
    document = serializers.CharField(source="revision.document.code")
    title = serializers.CharField(source="revision.title")
    number = serializers.IntegerField(source="revision.number")
    effective_date = serializers.DateField(source="revision.effective_date")

    class Meta:
        model = AcknowledgementCampaign
        fields = ["revision", "document", "title", "number", "effective_date", "deadline"]


class SectionCountSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="section.pk")
    code = serializers.CharField(source="section.code")
    name = serializers.CharField(source="section.name")
    total = serializers.IntegerField()
    acknowledged = serializers.IntegerField(source="done")
    pending = serializers.IntegerField()


class DepartmentCountSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="department.pk", allow_null=True)
    code = serializers.CharField(source="department.code", allow_null=True)
    name = serializers.CharField(source="department.name", allow_null=True)
    total = serializers.IntegerField()
    acknowledged = serializers.IntegerField(source="done")
    pending = serializers.IntegerField()
    sections = SectionCountSerializer(many=True)


class StatusQuerySerializer(serializers.Serializer):
    revision = IdField(help_text="id of the revision whose campaign to show")


class StatusSerializer(serializers.Serializer):
    revision = serializers.IntegerField()
    deadline = serializers.DateField()
    departments = DepartmentCountSerializer(many=True)


class AcknowledgementViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The caller's own acknowledgements. POST {"revision": id} acknowledges a revision;
    posting again returns the existing record (200) instead of creating a second one."""

    queryset = Acknowledgement.objects.none()  # for the schema; get_queryset() scopes it
    serializer_class = AcknowledgementSerializer
    filterset_class = AcknowledgementFilter

    def get_queryset(self):
        return (
            Acknowledgement.objects.filter(user=self.request.user)
            .select_related("user")
            .order_by("-acknowledged_at")
        )

    @extend_schema(
        request=AcknowledgeSerializer,
        responses={200: AcknowledgementSerializer, 201: AcknowledgementSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = AcknowledgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        # acknowledge() reads the revision and decides in one query: a draft, a document the
        # caller may not read or an id that does not exist are all "No such revision."
        ack, created = acks.acknowledge(
            request.user, serializer.validated_data["revision"], request=request
        )
        return Response(
            AcknowledgementSerializer(ack).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(responses=PendingSerializer(many=True))
    @action(detail=False, methods=["get"])
    def pending(self, request):
        page = self.paginate_queryset(acks.pending_campaigns(request.user))
        return self.get_paginated_response(PendingSerializer(page, many=True).data)

    @extend_schema(parameters=[StatusQuerySerializer], responses=StatusSerializer)
    @action(detail=False, methods=["get"], filterset_class=None, filter_backends=[])
    def status(self, request):
        if not access.can_follow_status(request.user):
            raise PermissionDenied(
                "Only department heads, section chiefs and the CISO's office "
                "follow acknowledgement status."
            )
        revision_id = query_params(request, StatusQuerySerializer)["revision"]
        campaign = get_object_or_404(
            access.campaigns_visible_to(request.user), revision_id=revision_id
        )
        departments = acks.status_by_department(campaign.revision, request.user)
        return Response(
            StatusSerializer(
                {"revision": revision_id, "deadline": campaign.deadline, "departments": departments}
            ).data
        )
