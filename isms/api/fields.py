"""The API's counterparts of isms.forms' strict fields, and query parameters read through a
serializer, so a malformed value is a 400 with the reason rather than a 500."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from ..forms import ASCII_INTEGER, MAX_ID, MAX_INTEGER


class StrictIntegerField(serializers.IntegerField):
    """A whole number in ASCII digits (DRF's own field takes "１２" and, for int(), chokes
    on nothing, but the portal's ids and numbers are ASCII), within an integer column."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", -MAX_INTEGER - 1)
        kwargs.setdefault("max_value", MAX_INTEGER)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and not ASCII_INTEGER.fullmatch(data.strip()):
            self.fail("invalid")
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class IdField(StrictIntegerField):
    """The id (primary key) of an object."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(**kwargs)


def query_params(request, serializer_class):
    """The request's query parameters validated by serializer_class: its validated data,
    or a 400 naming each bad parameter. Pass the same class to extend_schema(parameters=)
    so the schema documents them."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- uploads of evidence (isms.evidence): one multipart field named "file" ---------------


def file_upload(name: str) -> dict:
    """The request body of an upload action, for extend_schema(request=...)."""
    from drf_spectacular.utils import inline_serializer

    return {"multipart/form-data": inline_serializer(name, {"file": serializers.FileField()})}


def uploaded_file(request):
    """The uploaded file of such an action, or a 400 that says how to send it."""
    uploaded = request.FILES.get("file")
    if uploaded is None:
        raise serializers.ValidationError({"file": [_("Upload the file as 'file'.")]})
    return uploaded
