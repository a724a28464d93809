from rest_framework import serializers

from ..models import Department, PolicyDocument, PolicyRevision, RoleAssignment, User
from .fields import IdField


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "kind",
            "parent",
            "valid_from",
            "valid_until",
            "successor",
        ]


class RoleSerializer(serializers.ModelSerializer):
    # None for a city-wide role (CISO, auditor, programme admin).
    department = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = RoleAssignment
        fields = ["role", "department"]


class MeSerializer(serializers.ModelSerializer):
    section = DepartmentSerializer(read_only=True)
    roles = RoleSerializer(source="role_assignments", many=True, read_only=True)

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "email", "section", "roles"]


class ObtainedTokenSerializer(serializers.Serializer):
    token = serializers.CharField(read_only=True, help_text="The key, shown this once.")


class PolicyDocumentSerializer(serializers.ModelSerializer):
    current_revision = serializers.SerializerMethodField()
    audience_departments = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )

    class Meta:
        model = PolicyDocument
        fields = [
            "id",
            "code",
            "title",
            "kind",
            "audience",
            "audience_departments",
            "current_revision",
        ]

    def get_current_revision(self, document) -> int | None:
        # Annotated by the viewset in the same query as the documents.
        return getattr(document, "current_revision_id", None)


class RevisionSerializer(serializers.ModelSerializer):
    document = serializers.PrimaryKeyRelatedField(queryset=PolicyDocument.objects.all())
    # A new draft starts from the text in force; leave these out to keep it.
    title = serializers.CharField(max_length=200, required=False)
    body = serializers.CharField(required=False)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    published_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PolicyRevision
        fields = [
            "id",
            "document",
            "number",
            "title",
            "body",
            "change_summary",
            "effective_date",
            "is_material",
            "status",
            "content_sha256",
            "author",
            "created_at",
            "submitted_at",
            "approved_by",
            "approved_at",
            "published_by",
            "published_at",
            "superseded_at",
        ]
        read_only_fields = [
            "number",
            "status",
            "content_sha256",
            "created_at",
            "submitted_at",
            "approved_at",
            "published_at",
            "superseded_at",
        ]


class RevisionUpdateSerializer(RevisionSerializer):
    document = serializers.PrimaryKeyRelatedField(read_only=True)


class ReturnSerializer(serializers.Serializer):
    reason = serializers.CharField()


class PublishSerializer(serializers.Serializer):
    deadline = serializers.DateField(required=False, allow_null=True)


class DiffQuerySerializer(serializers.Serializer):
    against = IdField(help_text="id of the other revision")


class DiffSerializer(serializers.Serializer):
    old = serializers.IntegerField(help_text="id of the older revision")
    new = serializers.IntegerField(help_text="id of the newer revision")
    unified_diff = serializers.CharField()
