"""The errors services raise; the API maps each to its HTTP status (registry.api.errors)."""

from .permissions import PermissionDenied

__all__ = ["Conflict", "InvalidInput", "NotFound", "PermissionDenied", "RegistryError"]


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
