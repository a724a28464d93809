"""What the OpenAPI schema says about errors. drf-spectacular documents the successful
answers only; the API also answers 400, 401, 403, 404 and 415 with reasons (isms.api.errors), and
clients, like the schema-driven tests, must be able to rely on their shape."""

DETAIL = {
    "type": "object",
    "description": "Why the request was refused.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
FIELD_ERRORS = {
    "type": "object",
    "description": (
        "The reasons, per field of the request (`non_field_errors` or `detail` for the "
        "request as a whole): a list of messages, or the same structure for a nested field."
    ),
    "additionalProperties": True,
}
ERRORS = {
    "400": ("ValidationErrors", "The request is invalid; nothing was changed."),
    "401": ("ErrorDetail", "No valid credentials were given."),
    "403": ("ErrorDetail", "The caller may not do this."),
    "404": ("ErrorDetail", "No such object, or one the caller may not see."),
}
THROTTLED = ("ErrorDetail", "Too many requests; try again after Retry-After seconds.")
UNSUPPORTED_MEDIA_TYPE = (
    "ErrorDetail",
    "The request body is in a media type this operation does not read (see its requestBody).",
)
HTTP_METHODS = {"get", "put", "patch", "post", "delete"}


def document_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: every operation may answer 400, 401, 403 and
    404 with the API's error bodies, one that reads a body 415 (DRF's answer to a media
    type it has no parser for), and a throttled one 429."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("ErrorDetail", DETAIL)
    schemas.setdefault("ValidationErrors", FIELD_ERRORS)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            errors = dict(ERRORS)
            if "requestBody" in operation:
                errors["415"] = UNSUPPORTED_MEDIA_TYPE
            if operation.get("operationId") == "auth_token_create":
                errors["429"] = THROTTLED
            for code, (component, description) in errors.items():
                responses.setdefault(
                    code,
                    {
                        "description": description,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{component}"}
                            }
                        },
                    },
                )
    return result
