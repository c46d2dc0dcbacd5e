"""Signed anchors of the audit chains' heads, kept outside the audited table, and the check of the whole trail.

A valid hash chain proves that what is there was not altered, not that nothing was removed: deleting the
last events of a chain, a whole chain or every row leaves chains that still verify. An anchor (written every
few minutes by beat and by ``manage.py audit_anchor``) records, signed with ``AUDIT_HMAC_KEY``:

- the head (position and hash) of every chain that gained events since the previous anchor;
- the highest event id seen and how many events existed up to it;
- the previous anchor's signature, so the anchors form a chain of their own.

It is stored in ``AuditAnchor`` and, when ``AUDIT_ANCHOR_DIR`` is set, appended as one JSON line to
``anchors.jsonl`` there. :func:`verify_trail` recomputes the event chains and then compares the trail with every
anchor: an anchored head that is gone or differs, a chain with no events left, fewer events than anchored, an
anchor altered or missing from the table are each reported. Events written after the last anchor are covered
only by their chain until the next anchor.

The read-access log (``registry.access_log``) is chained the same way and anchored by the same code, in
``AccessLogAnchor`` and ``access-log-anchors.jsonl``: each :class:`AnchoredTrail` names a chained table, its
anchors' table and file, and the prefix that keeps the two trails' signatures apart. :func:`verify_everything`
checks both (``manage.py verify_audit``, the nightly beat task).
"""

import hmac
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from .access_log import ACCESS_LOG
from .audit import AUDIT_EVENTS, ChainedTable, keyed_digest, verify_chains
from .models import AccessLogAnchor, AuditAnchor

ANCHOR_FILE = "anchors.jsonl"
ACCESS_LOG_ANCHOR_FILE = "access-log-anchors.jsonl"
# An event committed late (its transaction began before the previous anchor) still gets its head anchored.
LATE_COMMIT_MARGIN = timedelta(minutes=10)


@dataclass(frozen=True)
class AnchoredTrail:
    """A chained table and where its anchors go."""

    name: str  # "audit trail", "read-access log"
    chained: ChainedTable
    anchor_model: type
    file_name: str
    signature_prefix: str  # signed before the anchor's content: an anchor of one trail never passes for the other's
    anchor_label: str  # "audit anchor 3: …"
    where_prefix: str  # before an object in a problem ("" for the audit trail, as it always read)


AUDIT_TRAIL = AnchoredTrail(
    name="audit trail",
    chained=AUDIT_EVENTS,
    anchor_model=AuditAnchor,
    file_name=ANCHOR_FILE,
    signature_prefix="audit-anchor:",
    anchor_label="audit anchor",
    where_prefix="",
)
ACCESS_LOG_TRAIL = AnchoredTrail(
    name="read-access log",
    chained=ACCESS_LOG,
    anchor_model=AccessLogAnchor,
    file_name=ACCESS_LOG_ANCHOR_FILE,
    signature_prefix="access-log-anchor:",
    anchor_label="read-access anchor",
    where_prefix="read-access log, ",
)
TRAILS = (AUDIT_TRAIL, ACCESS_LOG_TRAIL)


def chain_key(object_type: str, object_id: str) -> str:
    return f"{object_type}|{object_id}"


def _signed_content(
    *, prefix: str, created_at: datetime, last_event_id: int, event_count: int, heads: dict, previous_signature: str
) -> str:
    return prefix + json.dumps(
        {
            "created_at": created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "last_event_id": last_event_id,
            "event_count": event_count,
            "heads": heads,
            "previous_signature": previous_signature,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )


def anchor_signature(anchor, trail: AnchoredTrail = AUDIT_TRAIL) -> str:
    """The signature an anchor (a row or a line of the file, as an object with the same attributes) must carry."""
    return keyed_digest(
        _signed_content(
            prefix=trail.signature_prefix,
            created_at=anchor.created_at,
            last_event_id=anchor.last_event_id,
            event_count=anchor.event_count,
            heads=anchor.heads,
            previous_signature=anchor.previous_signature,
        )
    )


def anchor_path(trail: AnchoredTrail = AUDIT_TRAIL) -> Path | None:
    directory = settings.AUDIT_ANCHOR_DIR
    return Path(directory) / trail.file_name if directory else None


def _as_line(anchor) -> str:
    return json.dumps(
        {
            "id": anchor.id,
            "created_at": anchor.created_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "last_event_id": anchor.last_event_id,
            "event_count": anchor.event_count,
            "heads": anchor.heads,
            "previous_signature": anchor.previous_signature,
            "signature": anchor.signature,
        },
        sort_keys=True,
        ensure_ascii=False,
    )


def _append_to_file(anchor, trail: AnchoredTrail) -> None:
    path = anchor_path(trail)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND: each anchor is one whole line added at the end, never a rewrite of the file.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (_as_line(anchor) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)


def anchor_write(trail: AnchoredTrail = AUDIT_TRAIL):
    """Anchor the heads of the chains changed since the last anchor; None if another run anchored first."""
    rows = trail.chained.model.objects
    try:
        with transaction.atomic():
            previous = trail.anchor_model.objects.order_by("-id").first()
            created_at = timezone.now()
            last_event_id = rows.aggregate(last=Max("id"))["last"] or 0
            changed = rows.filter(id__lte=last_event_id)
            if previous is not None:
                changed = changed.filter(
                    Q(id__gt=previous.last_event_id) | Q(occurred_at__gte=previous.created_at - LATE_COMMIT_MARGIN)
                )
            heads = {}
            values = changed.order_by("object_type", "object_id", "sequence").values_list(
                "object_type", "object_id", "sequence", "entry_hash"
            )
            for object_type, object_id, sequence, entry_hash in values.iterator(chunk_size=2000):
                heads[chain_key(object_type, object_id)] = [sequence, entry_hash]
            anchor = trail.anchor_model(
                created_at=created_at,
                last_event_id=last_event_id,
                event_count=rows.filter(id__lte=last_event_id).count(),
                heads=heads,
                previous_signature=previous.signature if previous else "",
            )
            anchor.signature = anchor_signature(anchor, trail)
            anchor.save()
    except IntegrityError:
        return None  # a concurrent run wrote the successor of the same anchor
    _append_to_file(anchor, trail)
    return anchor


def anchor_write_all() -> dict[str, object]:
    """An anchor of each trail (beat, ``manage.py audit_anchor``): {trail name: its anchor, or None}."""
    return {trail.name: anchor_write(trail) for trail in TRAILS}


@dataclass(frozen=True)
class TrailProblem:
    """Something the anchors say the trail should hold and it does not."""

    reason: str

    def __str__(self):
        return self.reason


@dataclass
class _FileAnchor:
    id: int
    created_at: datetime
    last_event_id: int
    event_count: int
    heads: dict
    previous_signature: str
    signature: str


def _file_anchors(trail: AnchoredTrail) -> Iterator[_FileAnchor | TrailProblem]:
    path = anchor_path(trail)
    if path is None or not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                data = json.loads(line)
                data["created_at"] = datetime.fromisoformat(data["created_at"])
                yield _FileAnchor(**data)
            except (ValueError, TypeError, KeyError):
                yield TrailProblem(f"line {number} of {path} is not an anchor")


def verify_anchors(trail: AnchoredTrail = AUDIT_TRAIL) -> Iterator[TrailProblem]:
    """Compare the trail with the anchors (the table's and the file's); yield each discrepancy."""
    anchors: dict[str, object] = {}
    previous_signature = ""
    label = trail.anchor_label
    for anchor in trail.anchor_model.objects.order_by("id").iterator():
        if not hmac.compare_digest(anchor_signature(anchor, trail), anchor.signature):
            yield TrailProblem(f"{label} {anchor.id}: its signature does not match (altered)")
            continue
        if anchor.previous_signature != previous_signature:
            yield TrailProblem(f"{label} {anchor.id}: the anchor before it is missing (an anchor was deleted)")
        anchors[anchor.signature] = anchor
        previous_signature = anchor.signature
    path = anchor_path(trail)
    for anchor in _file_anchors(trail):
        if isinstance(anchor, TrailProblem):
            yield anchor
            continue
        if not hmac.compare_digest(anchor_signature(anchor, trail), anchor.signature):
            yield TrailProblem(f"{label} {anchor.id} in {path}: its signature does not match (altered)")
            continue
        if anchor.signature not in anchors:
            yield TrailProblem(f"{label} {anchor.id} of {path} is missing from the database (deleted)")
            anchors[anchor.signature] = anchor
    if not anchors:
        return
    ordered = sorted(anchors.values(), key=lambda a: (a.last_event_id, a.created_at))
    expected: dict[str, tuple[int, str]] = {}
    for anchor in ordered:
        for key, (sequence, entry_hash) in anchor.heads.items():
            if key not in expected or sequence >= expected[key][0]:
                expected[key] = (sequence, entry_hash)
    latest = ordered[-1]
    table = trail.chained
    present = table.model.objects.filter(id__lte=latest.last_event_id).count()
    if present < latest.event_count:
        row = table.a_row.split()[-1]
        yield TrailProblem(
            f"the {trail.name} holds {present} {table.rows_label} up to {row} {latest.last_event_id}, the anchor "
            f"of {latest.created_at:%Y-%m-%d %H:%M} counted {latest.event_count}: {table.rows_label} were deleted "
            "(truncated trail)"
        )
    yield from _compare_heads(expected, trail)


def _compare_heads(expected: dict[str, tuple[int, str]], trail: AnchoredTrail) -> Iterator[TrailProblem]:
    found: dict[str, str] = {}
    last_position: dict[str, int] = {}
    rows = trail.chained.model.objects.values_list("object_type", "object_id", "sequence", "entry_hash")
    for object_type, object_id, sequence, entry_hash in rows.iterator(chunk_size=5000):
        key = chain_key(object_type, object_id)
        if key not in expected:
            continue
        last_position[key] = max(sequence, last_position.get(key, 0))
        if sequence == expected[key][0]:
            found[key] = entry_hash
    for key in sorted(expected):
        sequence, entry_hash = expected[key]
        object_type, object_id = key.split("|", 1)
        where = f"{trail.where_prefix}{object_type} {object_id}"
        if key not in last_position:
            yield TrailProblem(f"{where}: its whole chain is gone (anchored up to position {sequence})")
        elif key not in found:
            yield TrailProblem(
                f"{where}: the chain ends at position {last_position[key]}, anchored up to position {sequence} "
                f"(its last {trail.chained.rows_label} were deleted)"
            )
        elif not hmac.compare_digest(found[key], entry_hash):
            yield TrailProblem(f"{where}, position {sequence}: differs from its anchored hash (rewritten)")


def verify_trail(trail: AnchoredTrail = AUDIT_TRAIL) -> Iterator[object]:
    """Every problem of a trail (the audit trail by default): broken links of the chains, then discrepancies with
    the anchors."""
    yield from verify_chains(table=trail.chained)
    yield from verify_anchors(trail)


def verify_everything() -> Iterator[object]:
    """Every problem of the audit trail, then of the read-access log."""
    for trail in TRAILS:
        yield from verify_trail(trail)
