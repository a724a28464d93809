from axes.helpers import get_cool_off
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models import OuterRef, Prefetch, Subquery
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, Throttled, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import policy_actions, tokens
from ..forms import MAX_PASSWORD_LENGTH
from ..models import Department, PolicyRevision, RevisionStatus, RoleAssignment
from ..pickers import VisibleChoiceFilter
from ..rendering import unified_diff
from ..roles import can_manage_policy, readable_revisions, visible_policy_documents
from . import serializers as s
from .fields import query_params
from .throttling import AddressRateThrottle


class TokenThrottle(AddressRateThrottle):
    """Per client address, with or without an Authorization header: a caller holding a
    token of their own must not be able to guess other people's passwords unthrottled."""

    scope = "token"


class TokenRequestSerializer(AuthTokenSerializer):
    # Bounded like the login form's fields: a longer user name overflows the lockout log.
    username = serializers.CharField(
        label=gettext_lazy("Username"), max_length=150, write_only=True
    )
    password = serializers.CharField(
        label=gettext_lazy("Password"),
        max_length=MAX_PASSWORD_LENGTH,
        style={"input_type": "password"},
        trim_whitespace=False,
        write_only=True,
    )


class ObtainTokenView(APIView):
    """Exchange a user name and password for a new API token, named after this endpoint,
    with the default lifetime (throttled, and locked out with the login form after
    repeated failures). Each call issues another token: the key of an earlier one is not
    stored, so it cannot be handed out again."""

    # The credentials are in the body; an Authorization or session header proves nothing
    # here, so none is read (a stale token must not answer 401 before the throttle counts).
    authentication_classes = []
    permission_classes = [permissions.AllowAny]
    throttle_classes = [TokenThrottle]
    serializer_class = TokenRequestSerializer

    # The name a token issued here gets in the token list.
    TOKEN_NAME = "POST /api/auth/token/"

    @extend_schema(request=TokenRequestSerializer, responses=s.ObtainedTokenSerializer)
    def post(self, request, *args, **kwargs):
        serializer = TokenRequestSerializer(data=request.data, context={"request": request})
        try:
            serializer.is_valid(raise_exception=True)
        except ValidationError:
            # Axes flags the DRF request it was given, which its middleware never sees: without
            # this a locked-out caller would only be told the password is wrong.
            if getattr(request, "axes_locked_out", False):
                cool_off = get_cool_off(request)
                raise Throttled(
                    wait=cool_off.total_seconds() if cool_off else None,
                    detail=_("Too many failed logins: this account is locked for a while."),
                ) from None
            raise
        user = serializer.validated_data["user"]
        _token, key = tokens.issue_token(user, name=self.TOKEN_NAME, request=request)
        # A successful sign-in, like one through the login form: axes forgets earlier
        # failures and last_login is updated.
        user_logged_in.send(sender=type(user), request=request._request, user=user)
        return Response({"token": key})


class MeView(APIView):
    """The caller, whether they signed in with a token or a session. (A session's user is
    a lazy proxy whose type() is not the user model: look the user up by the model.)"""

    @extend_schema(responses=s.MeSerializer)
    def get(self, request):
        user = (
            get_user_model()
            .objects.select_related("section")
            .prefetch_related(
                Prefetch("role_assignments", RoleAssignment.objects.select_related("department"))
            )
            .get(pk=request.user.pk)
        )
        return Response(s.MeSerializer(user).data)


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    """The organisation tree. Every member of staff may read it; it holds no secrets."""

    queryset = Department.objects.order_by("sort_order", "code")
    serializer_class = s.DepartmentSerializer
    filterset_fields = ["kind", "parent", "code"]


class PolicyDocumentViewSet(viewsets.ReadOnlyModelViewSet):
    """Documents the caller may read: anonymous callers see the public basic policy only."""

    serializer_class = s.PolicyDocumentSerializer
    permission_classes = [permissions.AllowAny]
    filterset_fields = ["kind", "audience"]

    def get_queryset(self):
        current = PolicyRevision.objects.filter(
            document=OuterRef("pk"),
            status=RevisionStatus.PUBLISHED,
            effective_date__lte=timezone.localdate(),
        ).order_by("-effective_date", "-number")
        return (
            visible_policy_documents(self.request.user)
            .annotate(current_revision_id=Subquery(current.values("pk")[:1]))
            .prefetch_related("audience_departments")
            .order_by("kind", "code")
        )


class RevisionFilter(filters.FilterSet):
    document = VisibleChoiceFilter(visible=visible_policy_documents)

    class Meta:
        model = PolicyRevision
        fields = ["document", "status"]


class RevisionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Policy revisions. Readers see the published history of the documents they may read;
    the CISO's office drafts, submits, approves (never their own) and publishes."""

    permission_classes = [permissions.AllowAny]
    filterset_class = RevisionFilter

    def get_queryset(self):
        return (
            readable_revisions(self.request.user)
            .select_related("document", "author", "approved_by", "published_by")
            .order_by("document_id", "-number")
        )

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return s.RevisionUpdateSerializer
        if self.action == "return_to_draft":
            return s.ReturnSerializer
        if self.action == "publish":
            return s.PublishSerializer
        return s.RevisionSerializer

    def _require_manager(self):
        if not self.request.user.is_authenticated:
            self.permission_denied(self.request)
        if not can_manage_policy(self.request.user):
            raise PermissionDenied("Only the CISO's office can change policy revisions.")

    def create(self, request, *args, **kwargs):
        self._require_manager()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        document = data.pop("document")
        revision = policy_actions.create_draft(document, by=request.user, request=request, **data)
        return Response(s.RevisionSerializer(revision).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        self._require_manager()
        revision = self.get_object()
        serializer = self.get_serializer(
            revision, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        revision = policy_actions.update_draft(
            revision, by=request.user, request=request, **serializer.validated_data
        )
        return Response(s.RevisionSerializer(revision).data)

    def _transition(self, func, **kwargs):
        self._require_manager()
        revision = func(self.get_object(), by=self.request.user, request=self.request, **kwargs)
        return Response(s.RevisionSerializer(revision).data)

    @extend_schema(request=None, responses=s.RevisionSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._transition(policy_actions.submit_for_review)

    @extend_schema(request=None, responses=s.RevisionSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._transition(policy_actions.approve)

    @extend_schema(request=s.ReturnSerializer, responses=s.RevisionSerializer)
    @action(detail=True, methods=["post"], url_path="return")
    def return_to_draft(self, request, pk=None):
        self._require_manager()  # before validating, so outsiders get 403 rather than 400
        serializer = s.ReturnSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(
            policy_actions.return_to_draft, reason=serializer.validated_data["reason"]
        )

    @extend_schema(request=s.PublishSerializer, responses=s.RevisionSerializer)
    @action(detail=True, methods=["post"])
    def publish(self, request, pk=None):
        self._require_manager()  # before validating, so outsiders get 403 rather than 400
        serializer = s.PublishSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return self._transition(
            policy_actions.publish, deadline=serializer.validated_data.get("deadline")
        )

    @extend_schema(parameters=[s.DiffQuerySerializer], responses=s.DiffSerializer)
    @action(detail=True, methods=["get"])
    def diff(self, request, pk=None):
        revision = self.get_object()
        other_id = query_params(request, s.DiffQuerySerializer)["against"]
        other = get_object_or_404(self.get_queryset(), pk=other_id, document=revision.document)
        old, new = sorted([revision, other], key=lambda r: r.number)
        return Response(
            {
                "old": old.pk,
                "new": new.pk,
                "unified_diff": unified_diff(
                    old.body, new.body, f"revision {old.number}", f"revision {new.number}"
                ),
            }
        )
