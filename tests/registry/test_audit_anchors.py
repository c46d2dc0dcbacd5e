"""A trail its database owner cannot silently rewrite: keyed hashes, signed anchors outside the audited table,
the PostgreSQL guards and a least-privilege application role.
"""

import hashlib
import hmac
import io
import json
import os
import types

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from registry import services
from registry.audit import GENESIS_HASH, _payload, event_fields, unkeyed_hash, verify_chains
from registry.audit_anchors import ANCHOR_FILE, anchor_write, chain_key, verify_trail
from registry.models import AuditAnchor, AuditEvent

from .test_audit import chain_of, raw_sql


def problems() -> list[str]:
    return [str(problem) for problem in verify_trail()]


@pytest.fixture
def anchor_dir(settings, tmp_path):
    settings.AUDIT_ANCHOR_DIR = str(tmp_path / "anchors")
    return tmp_path / "anchors"


# --- Keyed hashes -------------------------------------------------------------------------------


def test_each_hash_is_an_hmac_under_the_audit_key(renamed_centre):
    event = chain_of(renamed_centre)[1]
    payload = _payload(**event_fields(event)).encode()
    assert event.entry_hash == hmac.new(settings.AUDIT_HMAC_KEY.encode(), payload, hashlib.sha256).hexdigest()
    assert event.entry_hash != hashlib.sha256(payload).hexdigest()


def test_a_row_rewritten_without_the_key_is_found_even_with_a_recomputed_hash(renamed_centre):
    """Someone who can write the table recomputes the hash as the trail once did: plain SHA-256. It fails."""
    first, second, third = chain_of(renamed_centre)
    fields = {**event_fields(third), "changes": {"name": ["Ospedale B", "Ospedale Falsificato"]}}
    forged = unkeyed_hash(**fields)
    param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    raw_sql(
        f"UPDATE registry_auditevent SET changes = {param}, entry_hash = %s WHERE id = %s",  # noqa: S608
        [json.dumps(fields["changes"]), forged, third.id],
    )
    broken = list(verify_chains())
    assert [link.event_id for link in broken] == [third.id]
    assert "altered" in broken[0].reason


def test_under_another_key_no_event_verifies(renamed_centre, settings):
    settings.AUDIT_HMAC_KEY = "another-key-" + "k" * 40
    assert len(list(verify_chains())) == AuditEvent.objects.count()


def _make_unkeyed(events):
    """Rewrite chains (events in chain order) as the trail stored them before its hashes were keyed."""
    current, previous = None, GENESIS_HASH
    for event in events:
        if (event.object_type, event.object_id) != current:
            current, previous = (event.object_type, event.object_id), GENESIS_HASH
        entry_hash = unkeyed_hash(**{**event_fields(event), "previous_hash": previous})
        raw_sql(
            "UPDATE registry_auditevent SET previous_hash = %s, entry_hash = %s WHERE id = %s",
            [previous, entry_hash, event.id],
        )
        previous = entry_hash


def _key_the_existing_chains():
    migration = __import__("registry.migrations.0005_audit_keyed_hashes_and_guards", fromlist=["x"])
    editor = types.SimpleNamespace(connection=connection, execute=lambda sql: connection.cursor().execute(sql))
    migration.key_the_existing_chains(apps, editor)


def test_the_migration_keys_chains_written_before_the_key_and_verify_audit_checks_them(renamed_centre):
    _make_unkeyed(AuditEvent.objects.order_by("object_type", "object_id", "sequence"))
    assert list(verify_chains()), "unkeyed hashes do not verify as keyed ones"

    _key_the_existing_chains()

    assert list(verify_chains()) == []
    call_command("verify_audit", stdout=io.StringIO())
    # New events go on chaining after the re-keyed ones.
    services.centre_update(actor=renamed_centre_actor(), centre=renamed_centre, name="Ospedale D", pharmacy=None)
    assert [event.sequence for event in chain_of(renamed_centre)] == [1, 2, 3, 4]
    assert list(verify_chains()) == []


def renamed_centre_actor():
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="officer.lombardia")


def test_the_migration_refuses_to_key_a_trail_already_altered(renamed_centre):
    chain = chain_of(renamed_centre)
    _make_unkeyed(AuditEvent.objects.order_by("object_type", "object_id", "sequence"))
    raw_sql("UPDATE registry_auditevent SET actor_username = %s WHERE id = %s", ["someone.else", chain[1].id])
    with pytest.raises(RuntimeError, match=rf"audit event {chain[1].id} .*altered"):
        _key_the_existing_chains()


# --- Anchors --------------------------------------------------------------------------------------


def test_an_anchor_signs_every_chain_head_and_the_event_count(renamed_centre, anchor_dir):
    anchor = anchor_write()

    third = chain_of(renamed_centre)[2]
    assert anchor.heads[chain_key("registry.centre", str(renamed_centre.pk))] == [3, third.entry_hash]
    assert anchor.event_count == AuditEvent.objects.count()
    assert anchor.last_event_id == AuditEvent.objects.order_by("-id").first().id
    assert anchor.previous_signature == ""
    (line,) = (anchor_dir / ANCHOR_FILE).read_text().splitlines()
    assert json.loads(line)["signature"] == anchor.signature
    assert problems() == []


def test_the_next_anchor_follows_the_previous_one(renamed_centre, demo):
    first = anchor_write()
    services.centre_update(actor=demo["officer.lombardia"], centre=renamed_centre, name="Ospedale D", pharmacy=None)
    second = anchor_write()

    assert second.previous_signature == first.signature
    assert second.heads[chain_key("registry.centre", str(renamed_centre.pk))][0] == 4
    assert problems() == []


def test_the_deleted_last_event_of_a_chain_is_found_by_the_anchor(renamed_centre):
    anchor_write()
    last = chain_of(renamed_centre)[2]
    raw_sql("DELETE FROM registry_auditevent WHERE id = %s", [last.id])

    assert list(verify_chains()) == []  # what is left is a valid chain: only the anchor can tell
    found = problems()
    assert any(f"registry.centre {renamed_centre.pk}: the chain ends at position 2" in p for p in found), found
    with pytest.raises(CommandError, match="events were deleted|last events were deleted"):
        call_command("verify_audit", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_whole_deleted_chain_is_found(renamed_centre):
    anchor_write()
    raw_sql("DELETE FROM registry_auditevent WHERE object_id = %s", [str(renamed_centre.pk)])

    assert list(verify_chains()) == []
    assert f"registry.centre {renamed_centre.pk}: its whole chain is gone (anchored up to position 3)" in problems()


def test_a_truncated_trail_is_found(renamed_centre):
    anchor = anchor_write()
    raw_sql("DELETE FROM registry_auditevent")

    found = problems()
    assert any(f"counted {anchor.event_count}: events were deleted (truncated trail)" in p for p in found), found
    assert len(found) == 1 + len(anchor.heads)


def test_a_head_rewritten_even_with_a_valid_hash_differs_from_its_anchor(renamed_centre):
    anchor_write()
    from registry.audit import compute_hash

    third = chain_of(renamed_centre)[2]
    forged = compute_hash(**{**event_fields(third), "actor_username": "someone.else"})
    raw_sql(
        "UPDATE registry_auditevent SET actor_username = %s, entry_hash = %s WHERE id = %s",
        ["someone.else", forged, third.id],
    )

    assert list(verify_chains()) == []
    assert f"registry.centre {renamed_centre.pk}, position 3: differs from its anchored hash (rewritten)" in problems()


def test_an_altered_anchor_is_found(renamed_centre):
    anchor = anchor_write()
    raw_sql("UPDATE registry_auditanchor SET event_count = %s WHERE id = %s", [1, anchor.id])
    assert f"audit anchor {anchor.id}: its signature does not match (altered)" in problems()


def test_a_deleted_anchor_is_found_by_its_successor(renamed_centre):
    first = anchor_write()
    second = anchor_write()
    raw_sql("DELETE FROM registry_auditanchor WHERE id = %s", [first.id])
    assert f"audit anchor {second.id}: the anchor before it is missing (an anchor was deleted)" in problems()


def test_an_anchor_deleted_from_the_table_is_still_in_the_file(renamed_centre, anchor_dir):
    anchor = anchor_write()
    raw_sql("DELETE FROM registry_auditanchor")
    raw_sql("DELETE FROM registry_auditevent WHERE object_id = %s", [str(renamed_centre.pk)])

    found = problems()
    assert f"audit anchor {anchor.id} of {anchor_dir / ANCHOR_FILE} is missing from the database (deleted)" in found
    # The file's anchor still tells what the trail held.
    assert f"registry.centre {renamed_centre.pk}: its whole chain is gone (anchored up to position 3)" in found


def test_the_audit_anchor_command_and_the_beat_task(renamed_centre, anchor_dir):
    from registry.tasks import anchor_audit_trail

    out = io.StringIO()
    call_command("audit_anchor", stdout=out)
    assert f"{AuditEvent.objects.count()} events" in out.getvalue()
    anchor_id = anchor_audit_trail.delay().get()
    assert list(AuditAnchor.objects.values_list("id", flat=True)) == [AuditAnchor.objects.first().id, anchor_id]
    assert len((anchor_dir / ANCHOR_FILE).read_text().splitlines()) == 2
    assert settings.CELERY_BEAT_SCHEDULE["audit-anchor"]["task"] == "registry.tasks.anchor_audit_trail"
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    assert "against 2 anchors" in out.getvalue()


# --- PostgreSQL ------------------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.parametrize("table", ["registry_auditevent", "registry_auditanchor"], ids=["events", "anchors"])
def test_postgresql_refuses_truncate(postgresql, renamed_centre, table):
    anchor_write()
    # The test connection may truncate (pytest-django empties tables so); production's may not.
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        postgresql.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks of the test's own rows
        cursor.execute("SET LOCAL registry.allow_audit_truncate = off")
        cursor.execute(f"TRUNCATE {table}")  # noqa: S608
    assert AuditEvent.objects.exists() and AuditAnchor.objects.exists()


@pytest.mark.services
def test_postgresql_refuses_to_update_or_delete_an_anchor(postgresql, renamed_centre):
    anchor = anchor_write()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditAnchor.objects.filter(pk=anchor.pk).update(event_count=0)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditAnchor.objects.filter(pk=anchor.pk).delete()
    assert problems() == []


# The grants of docs/operations.md ("A least-privilege database role"), for role {role} on database {database}.
LEAST_PRIVILEGE_GRANTS = """
CREATE ROLE {role} LOGIN PASSWORD 'app-role-password';
GRANT CONNECT ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA public TO {role};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON registry_auditevent, registry_auditanchor FROM {role};
REVOKE UPDATE, DELETE, TRUNCATE ON registry_accesslog, registry_accessloganchor FROM {role};
"""


@pytest.mark.services
def test_a_least_privilege_role_appends_to_the_trail_but_cannot_change_it(transactional_db):
    import psycopg

    from registry.audit import compute_hash
    from tests.conftest import need

    need(connection.vendor == "postgresql", "these tests need PostgreSQL (set DATABASE_URL=postgres://…)")
    params = {
        key: value
        for key, value in connection.get_connection_params().items()
        if key in ("dbname", "user", "host", "port", "password") and value
    }
    role = f"registry_app_test_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    owner = psycopg.connect(**params, autocommit=True)
    owner.execute(f"DROP ROLE IF EXISTS {role}")
    for statement in LEAST_PRIVILEGE_GRANTS.format(role=role, database=params["dbname"]).strip().splitlines():
        owner.execute(statement)
    try:
        with psycopg.connect(**{**params, "user": role, "password": "app-role-password"}) as app:
            fields = {
                "previous_hash": GENESIS_HASH,
                "occurred_at": timezone.now(),
                "actor_id": None,
                "actor_username": "",
                "action": "staff.bootstrap",
                "object_type": "auth.user",
                "object_id": "999",
                "sequence": 1,
                "changes": {},
            }
            app.execute(
                "INSERT INTO registry_auditevent (occurred_at, actor_id, actor_username, action, object_type, "
                "object_id, sequence, changes, previous_hash, entry_hash) "
                "VALUES (%s, NULL, '', %s, %s, %s, 1, '{}'::jsonb, '', %s)",
                [fields["occurred_at"], fields["action"], "auth.user", "999", compute_hash(**fields)],
            )
            app.commit()
            assert app.execute("SELECT count(*) FROM registry_auditevent").fetchone() == (1,)
            for statement in (
                "UPDATE registry_auditevent SET actor_username = 'someone'",
                "DELETE FROM registry_auditevent",
                "TRUNCATE registry_auditevent",
                "DELETE FROM registry_auditanchor",
                "TRUNCATE registry_auditanchor",
            ):
                with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                    app.execute(statement)
                app.rollback()
            assert app.execute("SELECT actor_username FROM registry_auditevent").fetchall() == [("",)]
        assert list(verify_chains()) == []
    finally:
        owner.execute(f"DROP OWNED BY {role}")
        owner.execute(f"DROP ROLE {role}")
        owner.close()
