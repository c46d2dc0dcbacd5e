"""The read-access log: who viewed which prescription or downloaded which per-patient file, and when.

Views call :func:`access_log_record` once per response that shows patient data (the prescription page, its API
detail and FHIR export, a report file download); the identities a list shows are written together by
:func:`access_log_write`, one insert per response. It is kept for inspection by administrators and, for their
region, regional officers (admin).

Append-only and chained like the audit trail: the reads of one object form a chain (``sequence`` 1, 2, …), each
row carrying an HMAC under ``AUDIT_HMAC_KEY`` of its fields and of the previous row's hash, verified and anchored
by the audit trail's own machinery (``registry.audit.verify_chains``, ``registry.audit_anchors``,
``manage.py verify_audit``). Appending reads the chain's head and then writes the next row: a PostgreSQL advisory
lock per chain, held to the end of the short transaction, makes concurrent readers of one object take turns
(readers of different objects never wait for each other), and the unique (object, position) constraint would
refuse a fork anyway.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection, models, transaction
from django.utils import timezone

from .audit import GENESIS_HASH, ChainedTable, keyed_digest
from .db_locks import ACCESS_LOG_CHAIN, lock_key
from .models import AccessKind, AccessLog


def access_hash(
    *,
    key: bytes | None = None,
    previous_hash: str,
    occurred_at: datetime,
    user_id: int | None,
    username: str,
    kind: str,
    object_type: str,
    object_id: str,
    region_id: str | None,
    sequence: int,
) -> str:
    """The keyed hash of a read: HMAC-SHA256 under ``AUDIT_HMAC_KEY`` of every field and the previous hash."""
    payload = json.dumps(
        {
            "previous_hash": previous_hash,
            "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "user_id": user_id,
            "username": username,
            "kind": kind,
            "object_type": object_type,
            "object_id": object_id,
            "region_id": region_id,
            "sequence": sequence,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    # Its own prefix: a read's hash can never stand for an audit event's (whose payload has none).
    return keyed_digest("read-access:" + payload, key=key)


def access_fields(row: AccessLog) -> dict:
    """What a read's hash covers, read from a stored row."""
    return {
        "previous_hash": row.previous_hash,
        "occurred_at": row.occurred_at,
        "user_id": row.user_id,
        "username": row.username,
        "kind": row.kind,
        "object_type": row.object_type,
        "object_id": row.object_id,
        "region_id": row.region_id,
        "sequence": row.sequence,
    }


ACCESS_LOG = ChainedTable(
    model=AccessLog,
    row_label="read access",
    a_row="a read",
    rows_label="reads",
    fields=access_fields,
    digest=access_hash,
)


@dataclass(frozen=True)
class Read:
    """One read to log: which kind, of which object, in which region (None: the country)."""

    kind: AccessKind
    object_type: str
    object_id: str
    region_id: str | None


def _region_of(obj: models.Model) -> str | None:
    """The region the record belongs to: a prescription's centre's, a report file's run's (None: the country)."""
    if hasattr(obj, "centre_id"):
        return obj.centre.region_id
    if hasattr(obj, "run_id"):
        return obj.run.region_id
    return getattr(obj, "region_id", None)


def _lock_chain_heads(keys: set[tuple[str, str]]) -> dict[tuple[str, str], tuple[int, str]]:
    """Lock the chains of ``keys`` to the end of the transaction and read the last position and hash of each.

    On PostgreSQL one statement does both (``registry_accesslog_lock_heads``, migration 0009): the advisory locks
    of ``registry.db_locks``, in sorted order, then an index probe per object with a snapshot taken after the
    locks. SQLite serialises writers itself: one query reads the heads.
    """
    table = AccessLog._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            types, ids = zip(*sorted(keys), strict=True)
            lock_keys = sorted({lock_key(f"{object_type}|{object_id}") for object_type, object_id in keys})
            cursor.execute(
                "SELECT * FROM registry_accesslog_lock_heads(%s, %s::int[], %s::text[], %s::text[])",
                [ACCESS_LOG_CHAIN, lock_keys, list(types), list(ids)],
            )
        else:
            # SQLite: the bare columns of a MAX() aggregate come from the row holding the maximum.
            where = " OR ".join(["(object_type = %s AND object_id = %s)"] * len(keys))
            cursor.execute(
                f"SELECT object_type, object_id, MAX(sequence), entry_hash FROM {table} "  # noqa: S608
                f"WHERE {where} GROUP BY object_type, object_id",
                [value for key in sorted(keys) for value in key],
            )
        return {(row[0], row[1]): (row[2], row[3]) for row in cursor.fetchall()}


def access_log_write(*, user, reads: Iterable[Read]) -> list[AccessLog]:
    """Append ``reads`` by ``user`` to their objects' chains: the locks with the heads, then one insert, whatever
    their number. Runs in its own short transaction, or in the caller's (the chains' locks are then held until it
    ends)."""
    reads = list(reads)
    if not reads:
        return []
    authenticated = user is not None and user.is_authenticated
    user_id = user.pk if authenticated else None
    username = user.get_username() if authenticated else ""
    keys = {(read.object_type, read.object_id) for read in reads}
    # No savepoint inside a caller's transaction: the rows are the caller's to commit or roll back, and a
    # failure here dooms that transaction rather than leaving it half-written. On its own: BEGIN … COMMIT.
    with transaction.atomic(savepoint=False):
        heads = _lock_chain_heads(keys)
        occurred_at = timezone.now()
        rows = []
        for read in reads:
            key = (read.object_type, read.object_id)
            last_sequence, previous_hash = heads.get(key, (0, GENESIS_HASH))
            fields = {
                "previous_hash": previous_hash,
                "occurred_at": occurred_at,
                "user_id": user_id,
                "username": username,
                "kind": AccessKind(read.kind).value,
                "object_type": read.object_type,
                "object_id": read.object_id,
                "region_id": read.region_id,
                "sequence": last_sequence + 1,
            }
            entry_hash = access_hash(**fields)
            rows.append(AccessLog(**fields, entry_hash=entry_hash))
            heads[key] = (last_sequence + 1, entry_hash)
        return AccessLog.objects.bulk_create(rows)


def access_log_record(*, user, obj: models.Model, kind: AccessKind | str) -> AccessLog:
    """Record that ``user`` read ``obj`` (``kind``: which page, API or file). ``kind`` must be an AccessKind."""
    read = Read(
        kind=AccessKind(kind), object_type=obj._meta.label_lower, object_id=str(obj.pk), region_id=_region_of(obj)
    )
    (row,) = access_log_write(user=user, reads=[read])
    return row
