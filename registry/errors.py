"""The errors services raise; the API maps each to its HTTP status (registry.api.errors)."""

from enum import StrEnum

from .permissions import PermissionDenied

__all__ = [
    "Conflict",
    "ErrorCode",
    "InvalidInput",
    "NotFound",
    "PermissionDenied",
    "RegistryError",
    "code_for_status",
    "with_code",
]


class ErrorCode(StrEnum):
    """The ``code`` of every API error body but a 409's, whose code names the conflict (docs/api.md, "Errors")."""

    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_AUTHENTICATED = "NOT_AUTHENTICATED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    NOT_ACCEPTABLE = "NOT_ACCEPTABLE"
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS"
    SERVER_ERROR = "SERVER_ERROR"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"


_BY_STATUS = {
    400: ErrorCode.VALIDATION_ERROR,
    401: ErrorCode.NOT_AUTHENTICATED,
    403: ErrorCode.PERMISSION_DENIED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    406: ErrorCode.NOT_ACCEPTABLE,
    413: ErrorCode.REQUEST_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.IDEMPOTENCY_KEY_REUSED,
    429: ErrorCode.TOO_MANY_REQUESTS,
    500: ErrorCode.SERVER_ERROR,
    503: ErrorCode.SERVICE_UNAVAILABLE,
}


def code_for_status(status: int) -> str | None:
    """The ``code`` an error body of this HTTP status carries (None: not an error the API answers with a code)."""
    code = _BY_STATUS.get(status)
    return code.value if code is not None else None


def with_code(body, status: int):
    """``body`` (an error's JSON object) with the ``code`` of its status, unless it has one (a 409's) or a field of
    the input is itself named ``code`` (its messages stay where they are)."""
    code = code_for_status(status)
    if code is not None and isinstance(body, dict) and "code" not in body:
        body["code"] = code
    return body


class RegistryError(Exception):
    pass


class InvalidInput(RegistryError):
    """Input that breaks a rule of the domain (API: 400 ``{"field": ["message"]}``)."""

    def __init__(self, errors: dict[str, list[str] | str]):
        self.errors = {field: [m] if isinstance(m, str) else list(m) for field, m in errors.items()}
        super().__init__(str(self.errors))


class Conflict(RegistryError):
    """The request conflicts with the object's state (API: 409 ``{"detail", "code"}``).

    ``extra``: further fields of the 409 body (for ``ACTIVE_COURSE``, the other prescription when the caller may
    see it); never anything the caller may not know.
    """

    def __init__(self, code: str, detail: str, *, extra: dict | None = None):
        self.code = code
        self.detail = detail
        self.extra = dict(extra or {})
        super().__init__(f"{code}: {detail}")


class NotFound(RegistryError):
    """Absent, or outside the caller's scope (API: 404, never saying which)."""
