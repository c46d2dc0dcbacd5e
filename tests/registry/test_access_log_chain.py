"""The read-access log is append-only and chained like the audit trail (issue 17).

The documented least-privilege role cannot change or delete it, PostgreSQL's triggers refuse UPDATE, DELETE and
TRUNCATE even to its owner, and each object's reads form a keyed hash chain, anchored with the audit trail's
machinery: ``verify_audit`` finds an edited read, a deleted one, and a deleted chain head.
"""

import io
import os
import threading
import types

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from registry.access_log import ACCESS_LOG, Read, access_fields, access_hash, access_log_record, access_log_write
from registry.audit import GENESIS_HASH, verify_chains
from registry.audit_anchors import (
    ACCESS_LOG_ANCHOR_FILE,
    ACCESS_LOG_TRAIL,
    anchor_write,
    anchor_write_all,
    chain_key,
    verify_everything,
    verify_trail,
)
from registry.models import AccessKind, AccessLog, AccessLogAnchor
from tests.prescriptions.factories import submit

from .test_audit import raw_sql
from .test_audit_anchors import LEAST_PRIVILEGE_GRANTS, anchor_dir  # noqa: F401 - a fixture

PAGE = AccessKind.PRESCRIPTION_PAGE


@pytest.fixture
def prescription(demo):
    return submit(demo["prescriber.milano"])


@pytest.fixture
def three_reads(prescription, demo):
    """Three reads of one prescription, by three people: a chain of three."""
    for username in ("nurse.milano", "pharmacist.milano", "prescriber.milano"):
        access_log_record(user=demo[username], obj=prescription, kind=PAGE)
    return list(chain_of(prescription))


def chain_of(obj):
    return AccessLog.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk)).order_by("sequence")


def problems() -> list[str]:
    return [str(problem) for problem in verify_trail(ACCESS_LOG_TRAIL)]


def verify_audit_fails() -> str:
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit", stdout=io.StringIO(), stderr=err)
    return err.getvalue()


# --- The chain ------------------------------------------------------------------------------------------


def test_the_reads_of_an_object_form_a_keyed_chain(three_reads):
    first, second, third = three_reads
    assert [read.sequence for read in three_reads] == [1, 2, 3]
    assert (first.previous_hash, second.previous_hash, third.previous_hash) == (
        GENESIS_HASH,
        first.entry_hash,
        second.entry_hash,
    )
    assert third.entry_hash == access_hash(**access_fields(third))
    assert list(verify_chains(table=ACCESS_LOG)) == []
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert f"Read-access log intact: {AccessLog.objects.count()} reads verified" in out.getvalue()


def test_the_displays_of_one_response_extend_each_chain_in_one_write(prescription, demo):
    reads = [
        Read(AccessKind.PATIENT_IDENTITY, "prescriptions.prescription", str(prescription.pk), "030"),
        Read(AccessKind.PATIENT_IDENTITY, "prescriptions.prescription", "another", "030"),
        Read(PAGE, "prescriptions.prescription", str(prescription.pk), "030"),
    ]
    rows = access_log_write(user=demo["nurse.milano"], reads=reads)

    assert [(row.object_id, row.sequence) for row in rows] == [
        (str(prescription.pk), 1),
        ("another", 1),
        (str(prescription.pk), 2),
    ]
    assert rows[2].previous_hash == rows[0].entry_hash
    assert list(verify_chains(table=ACCESS_LOG)) == []


@pytest.mark.parametrize("count", [1, 10])
def test_logging_reads_costs_the_same_few_queries_whatever_their_number(db, demo, count, django_assert_num_queries):
    # The chains' locks with their heads (one statement), one insert (in a transaction of its own, or the
    # caller's). One insert per response before the chain; the read of the locked heads added.
    expected = 2
    reads = [Read(PAGE, "prescriptions.prescription", f"p{n}", "030") for n in range(count)]
    access_log_write(user=demo["nurse.milano"], reads=reads)  # every chain already has a head
    with django_assert_num_queries(expected):
        access_log_write(user=demo["nurse.milano"], reads=reads)


# --- Verification ---------------------------------------------------------------------------------------


def test_an_edited_read_is_found(three_reads):
    second = three_reads[1]
    raw_sql("UPDATE registry_accesslog SET username = %s WHERE id = %s", ["someone.else", second.id])

    assert [str(link) for link in verify_chains(table=ACCESS_LOG)] == [
        f"read access {second.id} (prescriptions.prescription {second.object_id}, position 2): its content does "
        "not match its hash (altered after it was written)"
    ]
    assert f"read access {second.id}" in verify_audit_fails()


def test_a_deleted_read_inside_a_chain_is_found(three_reads):
    raw_sql("DELETE FROM registry_accesslog WHERE id = %s", [three_reads[1].id])

    (link,) = verify_chains(table=ACCESS_LOG)
    assert (link.event_id, link.reason) == (three_reads[2].id, "expected position 2: a read is missing")
    assert "a read is missing" in verify_audit_fails()


def test_a_deleted_chain_head_is_found_by_the_anchor(three_reads, prescription):
    anchor_write_all()
    raw_sql("DELETE FROM registry_accesslog WHERE id = %s", [three_reads[2].id])

    assert list(verify_chains(table=ACCESS_LOG)) == []  # what is left is a valid chain: only the anchor can tell
    where = f"read-access log, prescriptions.prescription {prescription.pk}"
    assert f"{where}: the chain ends at position 2, anchored up to position 3 (its last reads were deleted)" in (
        problems()
    )
    assert "its last reads were deleted" in verify_audit_fails()


def test_a_deleted_whole_log_is_found(three_reads, prescription):
    anchor = anchor_write(ACCESS_LOG_TRAIL)
    raw_sql("DELETE FROM registry_accesslog")

    found = problems()
    assert any(f"counted {anchor.event_count}: reads were deleted (truncated trail)" in p for p in found), found
    assert (
        f"read-access log, prescriptions.prescription {prescription.pk}: its whole chain is gone "
        "(anchored up to position 3)"
    ) in found


def test_a_chain_head_deleted_with_the_anchors_emptied_is_found_by_the_file(three_reads, prescription, anchor_dir):  # noqa: F811
    anchor = anchor_write(ACCESS_LOG_TRAIL)
    assert (anchor_dir / ACCESS_LOG_ANCHOR_FILE).exists()
    raw_sql("DELETE FROM registry_accessloganchor")
    raw_sql("DELETE FROM registry_accesslog WHERE id = %s", [three_reads[2].id])

    found = problems()
    assert (
        f"read-access anchor {anchor.id} of {anchor_dir / ACCESS_LOG_ANCHOR_FILE} is missing from the database "
        "(deleted)"
    ) in found
    assert any("the chain ends at position 2, anchored up to position 3" in p for p in found), found


def test_an_anchor_of_the_audit_trail_does_not_pass_for_one_of_the_read_access_log(three_reads):
    anchor = anchor_write(ACCESS_LOG_TRAIL)
    assert anchor.heads[chain_key("prescriptions.prescription", str(three_reads[0].object_id))] == [
        3,
        three_reads[2].entry_hash,
    ]
    from registry.audit_anchors import AUDIT_TRAIL, anchor_signature

    assert anchor_signature(anchor, AUDIT_TRAIL) != anchor.signature
    assert list(verify_everything()) == []


def test_the_beat_task_anchors_and_verifies_the_read_access_log_too(three_reads):
    from registry.tasks import anchor_audit_trail, verify_audit_trail

    anchor_audit_trail.delay().get()
    assert AccessLogAnchor.objects.count() == 1
    assert verify_audit_trail.delay().get()["intact"] is True
    raw_sql("UPDATE registry_accesslog SET kind = %s WHERE id = %s", [AccessKind.REPORT_FILE, three_reads[0].id])
    result = verify_audit_trail.delay().get()
    assert result["intact"] is False and f"read access {three_reads[0].id}" in result["first_broken"]


# --- Upgrade --------------------------------------------------------------------------------------------


def test_the_migration_chains_the_reads_logged_before_it(three_reads, prescription, demo):
    """Reads written before 0009 (no position, no hash) are chained in the order written, and verify."""
    for offset, read in enumerate(three_reads):
        raw_sql(
            "UPDATE registry_accesslog SET sequence = %s, previous_hash = '', entry_hash = '' WHERE id = %s",
            [1000 + offset, read.id],
        )
    assert list(verify_chains(table=ACCESS_LOG))

    migration = __import__("registry.migrations.0009_access_log_append_only_chained", fromlist=["x"])
    editor = types.SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    with transaction.atomic():
        from .test_audit import bypassing_the_append_only_guard

        with bypassing_the_append_only_guard():
            migration.chain_the_existing_reads(apps, editor)

    assert [read.sequence for read in chain_of(prescription)] == [1, 2, 3]
    assert list(verify_everything()) == []
    access_log_record(user=demo["nurse.milano"], obj=prescription, kind=PAGE)  # the chain goes on
    assert [read.sequence for read in chain_of(prescription)] == [1, 2, 3, 4]
    assert list(verify_chains(table=ACCESS_LOG)) == []


# --- PostgreSQL: the guards -----------------------------------------------------------------------------


@pytest.mark.services
def test_postgresql_refuses_to_update_delete_or_truncate_the_read_access_log(postgresql, three_reads):
    anchor = anchor_write(ACCESS_LOG_TRAIL)
    read = three_reads[0]
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"), transaction.atomic():
        AccessLog.objects.filter(pk=read.pk).update(username="someone.else")
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"), transaction.atomic():
        AccessLog.objects.filter(pk=read.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLogAnchor.objects.filter(pk=anchor.pk).update(event_count=0)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AccessLogAnchor.objects.filter(pk=anchor.pk).delete()
    for table in ("registry_accesslog", "registry_accessloganchor"):
        with (
            pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
            transaction.atomic(),
            postgresql.cursor() as cursor,
        ):
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL registry.allow_audit_truncate = off")
            cursor.execute(f"TRUNCATE {table}")  # noqa: S608
    assert AccessLog.objects.count() == 3
    assert list(verify_everything()) == []


@pytest.mark.services
def test_the_least_privilege_role_reads_and_appends_to_the_log_but_cannot_delete_it(transactional_db):
    import psycopg

    from tests.conftest import need

    need(connection.vendor == "postgresql", "these tests need PostgreSQL (set DATABASE_URL=postgres://…)")
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key in ("dbname", "user", "host", "port", "password") and value
    }
    role = f"registry_app_access_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    owner = psycopg.connect(**params, autocommit=True)
    owner.execute(f"DROP ROLE IF EXISTS {role}")
    for statement in LEAST_PRIVILEGE_GRANTS.format(role=role, database=params["dbname"]).strip().splitlines():
        owner.execute(statement)
    try:
        with psycopg.connect(**{**params, "user": role, "password": "app-role-password"}) as app:
            # What access_log_write does: lock the chain, read its head, append.
            fields = {
                "previous_hash": GENESIS_HASH,
                "occurred_at": timezone.now(),
                "user_id": None,
                "username": "",
                "kind": PAGE.value,
                "object_type": "prescriptions.prescription",
                "object_id": "p1",
                "region_id": None,
                "sequence": 1,
            }
            heads = app.execute(
                "SELECT * FROM registry_accesslog_lock_heads(648001, '{1}', '{prescriptions.prescription}', '{p1}')"
            )
            assert heads.fetchall() == []
            app.execute(
                "INSERT INTO registry_accesslog (occurred_at, username, kind, object_type, object_id, sequence, "
                "previous_hash, entry_hash) VALUES (%s, '', %s, %s, 'p1', 1, '', %s)",
                [fields["occurred_at"], fields["kind"], fields["object_type"], access_hash(**fields)],
            )
            app.commit()
            for statement in (
                "DELETE FROM registry_accesslog",
                "UPDATE registry_accesslog SET username = 'someone'",
                "TRUNCATE registry_accesslog",
                "DELETE FROM registry_accessloganchor",
                "UPDATE registry_accessloganchor SET event_count = 0",
                "TRUNCATE registry_accessloganchor",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    app.execute(statement)
                app.rollback()
            assert app.execute("SELECT count(*) FROM registry_accesslog").fetchone() == (1,)
        assert list(verify_chains(table=ACCESS_LOG)) == []
    finally:
        owner.execute(f"DROP OWNED BY {role}")
        owner.execute(f"DROP ROLE {role}")
        owner.close()


# --- PostgreSQL: concurrent readers ------------------------------------------------------------------------


@pytest.mark.services
def test_concurrent_reads_of_one_object_take_turns_on_its_chain(postgresql, transactional_db):
    """Twelve requests log reads at once: six of one prescription, six of a list showing it and another in
    either order. Every read is chained, none fails, no position is taken twice."""
    count = 12
    barrier = threading.Barrier(count)
    failures: list = []

    def run(index):
        try:
            barrier.wait(timeout=30)
            if index % 2:
                access_log_write(user=None, reads=[Read(PAGE, "prescriptions.prescription", "shared", None)])
            else:
                ids = ["shared", "other"] if index % 4 else ["other", "shared"]
                reads = [Read(AccessKind.PATIENT_IDENTITY, "prescriptions.prescription", i, None) for i in ids]
                access_log_write(user=None, reads=reads)
        except BaseException as exc:  # reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    shared = AccessLog.objects.filter(object_id="shared").order_by("sequence")
    assert [read.sequence for read in shared] == list(range(1, count + 1))
    assert AccessLog.objects.filter(object_id="other").count() == count // 2
    assert list(verify_chains(table=ACCESS_LOG)) == []
