"""The demo data (``seed_demo``) built once per test process and copied back for every test that asks for it.

``seed_demo`` makes its users, organisations and audit events through the services (permission checks, the
audit chain's keyed hashes, …); about 1 500 tests use the ``demo`` fixture, so running the command for each of them
was most of the suite's CPU. Here the first ``demo`` of a test process runs the command and keeps a copy of the rows
it inserted, table by table; every later ``demo`` inserts the same rows again, byte for byte (``COPY`` on
PostgreSQL, ``executemany`` on SQLite), inside the test's own transaction. pytest-django rolls that transaction
back at the end of the test (or empties the tables, for a transactional test), exactly as it did with what the
command wrote: each test still starts from the database as it was and gets the demo it had before.

The copy is used only when it is sure to be what the command would have written:

- the database before the demo looks as it did when the copy was taken (for every table: the number of rows and
  the lowest and highest primary key; a transactional test's flush recreates the regions, groups and permissions
  with new keys, and a fixture may have written rows first): otherwise the command runs and a new copy is kept;
- the command changed no row that existed before it (else it always runs for that state of the database);
- the settings the command reads (hashers, keys) and the active language are the same;
- the copy is younger than :data:`MAX_AGE_SECONDS` and from the same Rome day: the demo's timestamps stay as
  recent as a freshly made demo's would be for the audit anchors' margin, and the expired prescriber's authorisation
  still ends yesterday.

Nothing outside the database is written by ``seed_demo`` (no file, no cache key, no in-process cache that the
rows do not carry); the tests in ``tests/test_demo_fixture.py`` check that a copied demo is the command's.

The demo's *history* (``seed_history``, what ``seed_demo --history`` adds) is copied the same way by
:func:`history_build`, after the demo: keyed by the database as the demo left it, under the same conditions, and one
more, because its moments depend on the time of day. ``_at`` in seed_demo.py puts each story's moment at its hour,
except today's moments whose hour has not yet come: those go just before now (``now - (30 - hour) minutes``), or, in
the day's first half hour, into the minutes already gone, in the order of their hours (``seed_demo.moment``). Every
``_at`` of the command that copied is recorded with the branch it took; the copy is used only while each of them
would take the same branch now. Then the hours are the very moments the command would write now (they depend only on
the Rome day), and a moment put just before now is the one the command wrote when the copy was taken: older than a
fresh one by at most the copy's age, like every ``timezone.now()`` of the rows (audit events, creation times, the
dispensations), so the copy is what the command would have written at most :data:`MAX_AGE_SECONDS` ago, with every
moment in the same order, on the same side of now and of midnight as a fresh one's. MAX_AGE means the same for both
copies: how stale the "now" of the rows may be (within the audit anchors' 10-minute margin, and far below any
threshold the pages read in hours or days).

Outside the rows, the history's command only (a) fills the shortages' cache key, which a read fills again and the
autouse fixture empties before each test, and (b) asks after commit to e-mail the notifications it wrote: no demo
recipient has an e-mail address, so nothing is sent and no ``emailed_at`` is set (``test_demo_fixture`` checks
both). It writes no file under MEDIA_ROOT. Sequences are moved past the copied keys as for the demo.
"""

import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone, translation

from registry.calendar import rome_today

MAX_AGE_SECONDS = 300
_MAX_KEPT = 8  # copies kept per process (one per state of the database met before a demo; usually one or two)


@dataclass
class _Table:
    name: str
    columns: list[str]
    data: bytes | list[tuple]  # COPY text (PostgreSQL) or the rows (SQLite)
    sequence: str | None = None  # PostgreSQL: the sequence of an integer key, moved past the copied keys
    max_pk: int | None = None


@dataclass
class _Snapshot:
    tables: list[_Table] = field(default_factory=list)
    taken_at: float = 0.0
    day: date | None = None
    result: object = None  # what the seeding function returned (seed_history: how many prescriptions it made)
    moments: tuple = ()  # the history's ``_at`` calls: ((days_ago, hour), branch taken), see _at_branch


# (what, state of the database, settings, language) -> the copy, or None: the command must run for that state.
_snapshots: dict[tuple, _Snapshot | None] = {}
_tables: dict[str, str] = {}  # table -> its primary key column, in a stable order
stats = {"seeded": 0, "restored": 0, "refused": 0}


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _table_keys() -> dict[str, str]:
    """Every table of an installed model that exists, with its primary key's column."""
    if not _tables:
        existing = set(connection.introspection.table_names())
        for model in apps.get_models(include_auto_created=True):
            opts = model._meta
            if opts.proxy or not opts.managed or opts.swapped or opts.db_table not in existing:
                continue
            _tables.setdefault(opts.db_table, opts.pk.column)
    return _tables


def _fingerprint() -> tuple:
    """Per table: rows, lowest and highest primary key (as text), in one query."""
    tables = _table_keys()
    selects = [
        f"SELECT {index}, COUNT(*), MIN(CAST({_quote(pk)} AS TEXT)), MAX(CAST({_quote(pk)} AS TEXT)) "
        f"FROM {_quote(table)}"
        for index, (table, pk) in enumerate(tables.items())
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(selects))
        return tuple(sorted(cursor.fetchall()))


def _key() -> tuple:
    return (
        connection.vendor,
        _fingerprint(),
        tuple(settings.PASSWORD_HASHERS),
        settings.SECRET_KEY,
        settings.AUDIT_HMAC_KEY,
        getattr(settings, "PSEUDONYM_KEY", None),
        repr(getattr(settings, "PATIENT_DATA_KEYS", None)),
        translation.get_language(),
    )


def _rows(cursor, table: str, pk: str) -> tuple[list[str], dict]:
    cursor.execute(f"SELECT * FROM {_quote(table)}")
    columns = [column[0] for column in cursor.description]
    at = columns.index(pk)
    return columns, {row[at]: row for row in cursor.fetchall()}


def _seed_demo() -> None:
    with open(os.devnull, "w") as devnull:
        call_command("seed_demo", force=True, stdout=devnull)
    stats["seeded"] += 1


def _seed_history() -> int:
    from prescriptions.management.commands.seed_demo import seed_history

    made = seed_history()
    stats["seeded"] += 1
    return made


def _at_branch(days_ago: int, hour: int) -> str:
    """Which of its rules seed_demo's ``_at(days_ago, hour)`` follows now: its ``hour``, just before ``now``, or
    ``early`` in the day's first half hour (``seed_demo.moment``)."""
    from prescriptions.management.commands.seed_demo import moment

    return moment(days_ago, hour, timezone.now())[1]


@contextmanager
def _recording_moments(calls: set):
    """Record every ``_at`` call of seed_history (it looks ``_at`` up in its module at each call)."""
    from prescriptions.management.commands import seed_demo

    original = seed_demo._at

    def recorded(days_ago: int, hour: int):
        calls.add((days_ago, hour))
        return original(days_ago, hour)

    seed_demo._at = recorded
    try:
        yield
    finally:
        seed_demo._at = original


def _seed_and_copy(seed) -> tuple[object, _Snapshot | None]:
    """Run the command; what it returned, and the rows it inserted (None if it also changed or removed rows that
    were there)."""
    tables = _table_keys()
    with connection.cursor() as cursor:
        before = {table: _rows(cursor, table, pk)[1] for table, pk in tables.items()}
    calls: set = set()
    with _recording_moments(calls):
        result = seed()
    snapshot = _Snapshot(taken_at=time.monotonic(), day=rome_today(), result=result)
    snapshot.moments = tuple(sorted((call, _at_branch(*call)) for call in calls))
    with connection.cursor() as cursor:
        for table, pk in tables.items():
            columns, after = _rows(cursor, table, pk)
            old = before[table]
            if any(after.get(key) != row for key, row in old.items()):
                return result, None
            new_keys = sorted(key for key in after if key not in old)
            if new_keys:
                snapshot.tables.append(_copy_out(cursor, table, pk, columns, new_keys, [after[k] for k in new_keys]))
    return result, snapshot


def _copy_out(cursor, table: str, pk: str, columns: list[str], keys: list, rows: list[tuple]) -> _Table:
    if connection.vendor != "postgresql":
        return _Table(table, columns, rows)
    from psycopg import sql

    statement = sql.SQL("COPY (SELECT {columns} FROM {table} WHERE {pk} IN ({keys}) ORDER BY {pk}) TO STDOUT").format(
        columns=sql.SQL(", ").join(map(sql.Identifier, columns)),
        table=sql.Identifier(table),
        pk=sql.Identifier(pk),
        keys=sql.SQL(", ").join(map(sql.Literal, keys)),
    )
    with cursor.cursor.copy(statement) as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    copied = _Table(table, columns, data)
    if all(isinstance(key, int) for key in keys):
        cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [_quote(table), pk])
        copied.sequence = cursor.fetchone()[0]
        copied.max_pk = max(keys)
    return copied


def _copy_in(snapshot: _Snapshot) -> None:
    with connection.cursor() as cursor:
        if connection.vendor != "postgresql":
            for table in snapshot.tables:
                marks = ", ".join(["%s"] * len(table.columns))
                names = ", ".join(map(_quote, table.columns))
                cursor.executemany(f"INSERT INTO {_quote(table.name)} ({names}) VALUES ({marks})", table.data)
            return
        from psycopg import sql

        for table in snapshot.tables:
            statement = sql.SQL("COPY {table} ({columns}) FROM STDIN").format(
                table=sql.Identifier(table.name), columns=sql.SQL(", ").join(map(sql.Identifier, table.columns))
            )
            with cursor.cursor.copy(statement) as copy:
                copy.write(table.data)
        # Sequences are not rolled back with the test, so they are already past the copied keys unless a flush
        # reset them: never move one back.
        moves = [
            f"setval('{table.sequence}', GREATEST({table.max_pk}, (SELECT last_value FROM {table.sequence})))"
            for table in snapshot.tables
            if table.sequence
        ]
        if moves:
            cursor.execute("SELECT " + ", ".join(moves))


def _fresh(snapshot: _Snapshot) -> bool:
    return (
        time.monotonic() - snapshot.taken_at <= MAX_AGE_SECONDS
        and snapshot.day == rome_today()
        and all(_at_branch(*call) == branch for call, branch in snapshot.moments)
    )


def _build(what: str, seed, fresh: bool):
    with transaction.atomic():
        key = (what, *_key())
        if not fresh and key in _snapshots:
            snapshot = _snapshots[key]
            if snapshot is None:
                return seed()
            if _fresh(snapshot):
                try:
                    with transaction.atomic():
                        _copy_in(snapshot)
                except DatabaseError:  # not the state the copy was taken from after all: make it
                    stats["refused"] += 1
                    _snapshots.pop(key)
                else:
                    stats["restored"] += 1
                    return snapshot.result
        if len(_snapshots) >= _MAX_KEPT:
            _snapshots.clear()
        result, _snapshots[key] = _seed_and_copy(seed)
        return result


def keys_restarted() -> None:
    """For a transactional test, before its demo: the rows post_migrate made (regions, content types, permissions,
    groups: the only ones at the start of such a test) made again with keys from 1, as after a flush that resets the
    sequences, so that every such test meets the same database and gets the copies.

    pytest-django's flush after a transactional test keeps the sequences going, so the next one's groups and
    permissions have new keys, and its demo could never be a copy. A flush resetting them empties every table (about
    two seconds on PostgreSQL, as long as the demo and its history); here only the few tables holding rows are
    emptied (DELETE: the others are empty, so no reference is left dangling), every sequence restarts, and
    post_migrate runs again.
    """
    from django.core.management.color import no_style
    from django.core.management.sql import emit_post_migrate_signal

    tables = _table_keys()
    counts = {index: count for index, count, _low, _high in _fingerprint()}
    with transaction.atomic():
        with connection.cursor() as cursor:
            for index, table in enumerate(tables):
                if counts[index]:
                    cursor.execute(f"DELETE FROM {_quote(table)}")
            for statement in connection.ops.sequence_reset_by_name_sql(
                no_style(), connection.introspection.sequence_list()
            ):
                cursor.execute(statement)
        emit_post_migrate_signal(verbosity=0, interactive=False, db=connection.alias)


def demo_build(*, fresh: bool = False) -> None:
    """Make the demo in the current test's database: the copy when it is sure to match, else ``seed_demo``.

    ``fresh=True`` runs the command and takes a new copy (the fixture's own tests).
    """
    _build("demo", _seed_demo, fresh)


def history_build(*, fresh: bool = False) -> int:
    """Make the demo's history (``seed_history``) after the demo: the copy when it is sure to match, else the
    function itself. Returns what ``seed_history`` returns: the prescriptions made (0 if there were some already).

    The demo must be there first (``demo_build``, the ``demo`` fixture); ``fresh=True`` runs ``seed_history`` and
    takes a new copy.
    """
    return _build("history", _seed_history, fresh)
