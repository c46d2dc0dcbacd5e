"""The error responses of every operation, in the served schema (drf-spectacular post-processing hook).

API.md fixes the error bodies; each view documents its own successes and the errors particular to it, and this
hook adds the rest, so that a client (or schemathesis) finds every status the API can answer described:
400 (field → messages, DRF style, and ``code``), 401, 403 and 404 (``{"detail", "code"}``), 409 on writes,
413 on bodies over the limit, 429 on the token endpoint, 503 when the database is down.
"""

ERROR_DETAIL = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "NOT_AUTHENTICATED, PERMISSION_DENIED, NOT_FOUND, … (docs/api.md)"},
    },
    "required": ["detail"],
}
CONFLICT = {
    "type": "object",
    "properties": {"detail": {"type": "string"}, "code": {"type": "string"}},
    "required": ["detail", "code"],
}
# {"field": ["message", ...]}, nested for nested input ({"patient": {"birth_date": [...]}}), or {"detail"} for a
# body that is not JSON at all.
VALIDATION_ERRORS = {
    "type": "object",
    "additionalProperties": True,
    "description": (
        'Field → messages (DRF style), nested like the input ({"detail"} when the body is not JSON), and "code": '
        '"VALIDATION_ERROR" beside them.'
    ),
}

COMPONENTS = {"ErrorDetail": ERROR_DETAIL, "Conflict": CONFLICT, "ValidationErrors": VALIDATION_ERRORS}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _response(description: str, schema: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


COMMON = {
    "400": _response("Malformed or invalid input.", "ValidationErrors"),
    "401": _response("No or bad credentials.", "ErrorDetail"),
    "403": _response("This role, centre or region may not do this.", "ErrorDetail"),
    "404": _response("No such object, or outside the caller's scope.", "ErrorDetail"),
    "503": _response("The database is unavailable; nothing was saved.", "ErrorDetail"),
}
WRITES = {
    "409": _response("The request conflicts with the object's state.", "Conflict"),
    "413": _response("The request body is over the size limit.", "ErrorDetail"),
}
TOO_MANY = {"429": _response("Too many requests, or locked out.", "ErrorDetail")}


def add_error_responses(result, generator, request, public):
    """Add the common error responses an operation does not describe itself (its own ones win)."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in COMPONENTS.items():
        schemas.setdefault(name, schema)
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            extra = dict(COMMON)
            if method in ("post", "put", "patch"):
                extra.update(WRITES)
            if path.endswith("/auth/token/"):
                extra.update(TOO_MANY)
                if method == "post":  # signing in needs no credentials; revoking (DELETE) needs the token
                    extra.pop("401", None)
                extra.pop("403", None)
                extra.pop("404", None)
            for code, response in extra.items():
                current = responses.get(code)
                if current is None:
                    responses[code] = response
                elif "content" not in current:
                    # A view's own description, with the body the whole API uses for that status.
                    current["content"] = response["content"]
    return result
