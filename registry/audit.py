"""The audit trail: append-only, hash-chained per object, keyed.

Services call :func:`audit_record` inside their transaction, after locking the
object they change; the event therefore commits or rolls back with the write it
describes. Each object has its own chain (``sequence`` 1, 2, …), so unrelated
writes never wait for one another; two writers racing on one object collide on
the unique (object, sequence) constraint instead of forking the chain.

Each hash is an HMAC-SHA256 under ``AUDIT_HMAC_KEY``, a key kept outside the database: someone who can write
the table (its owner, a restored dump, a stolen backup) but does not hold the key cannot recompute a hash after
changing a row. What a valid chain cannot show (its last events deleted, a whole chain gone) is caught by the
signed anchors of ``registry.audit_anchors``.
"""

import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from .audit_actions import AuditAction
from .models import AuditEvent

GENESIS_HASH = ""


def _json_default(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(value.pk)
    raise TypeError(f"not JSON serialisable in an audit event: {type(value).__name__}")


def to_audit_json(changes: dict) -> dict:
    """Normalise a change set to plain JSON (what is stored is what is hashed)."""
    return json.loads(json.dumps(changes, default=_json_default))


def audit_key() -> bytes:
    return settings.AUDIT_HMAC_KEY.encode()


def keyed_digest(payload: str, *, key: bytes | None = None) -> str:
    """HMAC-SHA256 of ``payload`` under the audit key (or ``key``), as 64 hex digits."""
    return hmac.new(key if key is not None else audit_key(), payload.encode(), hashlib.sha256).hexdigest()


def _payload(
    *,
    previous_hash: str,
    occurred_at: datetime,
    actor_id: int | None,
    actor_username: str,
    action: str,
    object_type: str,
    object_id: str,
    sequence: int,
    changes: dict,
) -> str:
    return json.dumps(
        {
            "previous_hash": previous_hash,
            "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_username": actor_username,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "sequence": sequence,
            "changes": changes,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def compute_hash(*, key: bytes | None = None, **fields) -> str:
    """The keyed hash of an event: HMAC-SHA256 under ``AUDIT_HMAC_KEY`` of every field and the previous hash."""
    return keyed_digest(_payload(**fields), key=key)


def unkeyed_hash(**fields) -> str:
    """The plain SHA-256 the trail used before its hashes were keyed (read only by migration 0005)."""
    return hashlib.sha256(_payload(**fields).encode()).hexdigest()


def event_fields(event) -> dict:
    """What an event's hash covers, read from a stored row."""
    return {
        "previous_hash": event.previous_hash,
        "occurred_at": event.occurred_at,
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "sequence": event.sequence,
        "changes": event.changes,
    }


def object_label(obj: models.Model) -> str:
    return obj._meta.label_lower


# The events of the innermost ``audit_batch`` not yet written (None: outside a batch, each event is written at once).
_pending: ContextVar[list[AuditEvent] | None] = ContextVar("audit_pending", default=None)


@contextmanager
def audit_batch():
    """Inside a service's transaction: the events recorded in the block are written together, in one INSERT, when
    it ends (none if it raises: the transaction rolls back anyway). Each is hashed and chained as it is recorded,
    the heads of the chains it extends read from the events pending before the table, so the trail is the same
    as event by event; only the round trips are fewer."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_batch must be used inside the service's transaction")
    outer = _pending.get()
    pending: list[AuditEvent] = []
    token = _pending.set(pending)
    try:
        yield
    finally:
        _pending.reset(token)
    if outer is not None:
        outer.extend(pending)
    elif pending:
        AuditEvent.objects.bulk_create(pending)


def _pending_head(pending: list[AuditEvent], object_type: str, object_id: str) -> AuditEvent | None:
    for event in reversed(pending):
        if event.object_type == object_type and event.object_id == object_id:
            return event
    return None


def audit_record(
    *,
    actor,
    action: AuditAction | str,
    obj: models.Model,
    changes: dict | None = None,
    created: bool = False,
    after: AuditEvent | None = None,
) -> AuditEvent:
    """Append an event to ``obj``'s chain. Must run inside the service's transaction.

    ``action`` is an :class:`AuditAction`; a plain string is accepted only if it is the value of one
    (anything else raises ``ValueError`` before anything is written).

    The chain's head is read from the table, unless the caller knows it: ``created``, ``obj`` was inserted in this
    transaction (its chain is empty: this is its first event); ``after``, the event this transaction has just
    appended to ``obj``'s chain. Either saves a query; a wrong hint cannot fork a chain, as the unique
    (object, sequence) constraint refuses a second event at one position.
    """
    action = AuditAction(action)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the service's transaction")
    object_type = object_label(obj)
    object_id = str(obj.pk)
    pending = _pending.get()
    if pending is not None and (head := _pending_head(pending, object_type, object_id)) is not None:
        after = head
    if after is not None:
        if (after.object_type, after.object_id) != (object_type, object_id):
            raise ValueError("audit_record(after=...) must be an event of the same object")
        last = {"sequence": after.sequence, "entry_hash": after.entry_hash}
    elif created:
        last = None
    else:
        last = (
            AuditEvent.objects.filter(object_type=object_type, object_id=object_id)
            .order_by("-sequence")
            .values("sequence", "entry_hash")
            .first()
        )
    sequence = (last["sequence"] + 1) if last else 1
    previous_hash = last["entry_hash"] if last else GENESIS_HASH
    stored_changes = to_audit_json(changes or {})
    # Stored at microsecond precision on every backend, so the hash recomputes.
    occurred_at = timezone.now()
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    actor_username = actor.get_username() if actor_id is not None else ""
    entry_hash = compute_hash(
        previous_hash=previous_hash,
        occurred_at=occurred_at,
        actor_id=actor_id,
        actor_username=actor_username,
        action=action.value,
        object_type=object_type,
        object_id=object_id,
        sequence=sequence,
        changes=stored_changes,
    )
    event = AuditEvent(
        occurred_at=occurred_at,
        actor_id=actor_id,
        actor_username=actor_username,
        action=action.value,
        object_type=object_type,
        object_id=object_id,
        sequence=sequence,
        changes=stored_changes,
        previous_hash=previous_hash,
        entry_hash=entry_hash,
    )
    if pending is not None:
        pending.append(event)
    else:
        event.save(force_insert=True)
    return event


def diff(before: dict, after: dict) -> dict:
    """The fields whose value changed, as {field: [before, after]}."""
    return {key: [before.get(key), after.get(key)] for key in after if before.get(key) != after.get(key)}


@dataclass(frozen=True)
class ChainedTable:
    """A table whose rows form one keyed hash chain per object (``object_type``, ``object_id``, ``sequence``,
    ``previous_hash``, ``entry_hash``): the audit trail, and the read-access log (``registry.access_log``).
    :func:`verify_chains` and the anchors of ``registry.audit_anchors`` work on either."""

    model: type[models.Model]
    row_label: str  # names a row in a problem: "audit event 12 (…)"
    a_row: str  # "an event", "a read"
    rows_label: str  # "events", "reads"
    fields: Callable[[models.Model], dict]  # what a row's hash covers, read from a stored row
    digest: Callable[..., str]  # the keyed hash of those fields (``key=`` the HMAC key)


AUDIT_EVENTS = ChainedTable(
    model=AuditEvent,
    row_label="audit event",
    a_row="an event",
    rows_label="events",
    fields=event_fields,
    digest=compute_hash,
)


@dataclass(frozen=True)
class BrokenLink:
    event_id: int
    object_type: str
    object_id: str
    sequence: int
    reason: str
    row_label: str = "audit event"

    def __str__(self):
        return (
            f"{self.row_label} {self.event_id} ({self.object_type} {self.object_id}, "
            f"position {self.sequence}): {self.reason}"
        )


def verify_chains(events=None, *, table: ChainedTable = AUDIT_EVENTS) -> Iterator[BrokenLink]:
    """Recompute every chain of ``table`` (the audit trail by default), yielding each broken link (streamed,
    constant memory); ``events``: only these rows of it."""
    queryset = events if events is not None else table.model.objects.all()
    queryset = queryset.order_by("object_type", "object_id", "sequence")
    hmac_key = audit_key()
    current_object = None
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    for event in queryset.iterator(chunk_size=2000):
        key = (event.object_type, event.object_id)
        if key != current_object:
            current_object = key
            previous_hash = GENESIS_HASH
            expected_sequence = 1
        reason = None
        if event.sequence != expected_sequence:
            reason = f"expected position {expected_sequence}: {table.a_row} is missing"
        elif event.previous_hash != previous_hash:
            reason = f"does not point at the hash of the {table.a_row.split()[-1]} before it"
        else:
            recomputed = table.digest(key=hmac_key, **table.fields(event))
            if not hmac.compare_digest(recomputed, event.entry_hash):
                reason = "its content does not match its hash (altered after it was written)"
        if reason is not None:
            yield BrokenLink(
                event.id, event.object_type, event.object_id, event.sequence, reason, row_label=table.row_label
            )
        previous_hash = event.entry_hash
        expected_sequence = event.sequence + 1
