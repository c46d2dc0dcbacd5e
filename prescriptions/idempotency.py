"""``Idempotency-Key`` on submissions: a retry returns the first response and creates nothing (docs/api.md).

The key, a hash of the request and the response are stored in the same transaction
as what the request created, so a retry after a crash either finds both or neither.
"""

import hashlib
import json
from collections.abc import Callable

from django.db import IntegrityError, transaction

from registry.errors import Conflict, RegistryError

from .models import IdempotentRequest


class IdempotencyKeyReused(RegistryError):
    """The key was used before with another body (API: 422)."""


def request_fingerprint(data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _stored(user, key: str, fingerprint: str) -> tuple[int, dict] | None:
    previous = IdempotentRequest.objects.filter(user=user, key=key).first()
    if previous is None:
        return None
    if previous.request_hash != fingerprint:
        raise IdempotencyKeyReused(key)
    return previous.response_status, previous.response_body


def run_idempotent(*, user, key: str, fingerprint: str, produce: Callable[[], tuple[int, dict]]) -> tuple[int, dict]:
    """Return the stored response for (user, key), or run ``produce`` and store its response atomically."""
    stored = _stored(user, key, fingerprint)
    if stored is not None:
        return stored
    try:
        with transaction.atomic():
            status, body = produce()
            IdempotentRequest.objects.create(
                user=user, key=key, request_hash=fingerprint, response_status=status, response_body=body
            )
            return status, body
    except (IntegrityError, Conflict):
        # A concurrent retry with the same key committed first (its patient lock made this
        # one find an active course, or its key row collided): answer as it did.
        stored = _stored(user, key, fingerprint)
        if stored is not None:
            return stored
        raise
