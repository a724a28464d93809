"""The caller's own API tokens: list, issue (the key in the answer, once), read, revoke.
Nobody reaches another person's tokens: they are not in the queryset, so 404."""

import datetime

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from .. import tokens
from ..models import ApiToken, RevokedReason


class ApiTokenSerializer(serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)
    # "" while the token is not revoked: declared, so that the schema says so.
    revoked_reason = serializers.ChoiceField(
        choices=RevokedReason.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = ApiToken
        fields = [
            "id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "revoked_reason",
            "is_active",
        ]
        read_only_fields = fields


class IssueTokenSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    lifetime_days = serializers.IntegerField(
        min_value=1,
        max_value=settings.API_TOKEN_MAX_LIFETIME_DAYS,
        required=False,
        help_text="Days until the token expires (default API_TOKEN_LIFETIME_DAYS).",
    )


class IssuedTokenSerializer(ApiTokenSerializer):
    key = serializers.CharField(read_only=True, help_text="Shown this once, never again.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "key"]
        read_only_fields = fields


class ApiTokenViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Your API tokens. DELETE revokes one (it stays listed, revoked)."""

    serializer_class = ApiTokenSerializer

    def get_queryset(self):
        if not self.request.user.is_authenticated:  # the schema generator's fake request
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user).order_by("-created_at", "-id")

    def get_serializer_class(self):
        return IssueTokenSerializer if self.action == "create" else ApiTokenSerializer

    @extend_schema(request=IssueTokenSerializer, responses={201: IssuedTokenSerializer})
    def create(self, request, *args, **kwargs):
        serializer = IssueTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        days = serializer.validated_data.get("lifetime_days")
        token, key = tokens.issue_token(
            request.user,
            name=serializer.validated_data["name"],
            lifetime=datetime.timedelta(days=days) if days else None,
            request=request,
        )
        token.key = key
        return Response(IssuedTokenSerializer(token).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        tokens.revoke_token(self.get_object(), by=request.user, request=request)
        return Response(status=status.HTTP_204_NO_CONTENT)
