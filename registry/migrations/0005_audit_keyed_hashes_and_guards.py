"""The audit trail's hashes become keyed (HMAC-SHA256 under AUDIT_HMAC_KEY), and PostgreSQL guards more.

1. Every existing event is first verified with the plain SHA-256 it was written with (the migration stops, and
   changes nothing, if one does not verify: find out why before keying it), then its chain is re-hashed with
   the key, in order, so ``verify_audit`` checks old and new events alike. On PostgreSQL the append-only
   trigger is switched off for the rewrite and on again, inside this migration's transaction (the migrating
   role owns the table).
2. On PostgreSQL: TRUNCATE of the audit trail is refused by a trigger, and the anchors table refuses UPDATE,
   DELETE and TRUNCATE too. Only a test database (``test_…``) whose connection sets
   ``registry.allow_audit_truncate=on`` (tests/settings.py, so pytest-django can empty it between tests) may
   be truncated.
"""

from django.db import migrations

GUARD = """
CREATE OR REPLACE FUNCTION registry_audit_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND current_setting('registry.allow_audit_truncate', true) = 'on'
       AND left(current_database(), 5) = 'test_' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' refused on ' || TG_TABLE_NAME,
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_auditevent_no_truncate
    BEFORE TRUNCATE ON registry_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_append_only();
CREATE TRIGGER registry_auditanchor_append_only
    BEFORE UPDATE OR DELETE ON registry_auditanchor
    FOR EACH ROW EXECUTE FUNCTION registry_audit_append_only();
CREATE TRIGGER registry_auditanchor_no_truncate
    BEFORE TRUNCATE ON registry_auditanchor
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_append_only();
"""

UNGUARD = """
DROP TRIGGER IF EXISTS registry_auditanchor_no_truncate ON registry_auditanchor;
DROP TRIGGER IF EXISTS registry_auditanchor_append_only ON registry_auditanchor;
DROP TRIGGER IF EXISTS registry_auditevent_no_truncate ON registry_auditevent;
DROP FUNCTION IF EXISTS registry_audit_append_only();
"""


def key_the_existing_chains(apps, schema_editor):
    from registry.audit import GENESIS_HASH, compute_hash, event_fields, unkeyed_hash

    AuditEvent = apps.get_model("registry", "AuditEvent")
    if not AuditEvent.objects.exists():
        return
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        # ALTER TABLE refuses to run while deferred foreign-key checks of this transaction are pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute("ALTER TABLE registry_auditevent DISABLE TRIGGER registry_auditevent_append_only")
    current = None
    old_previous = new_previous = GENESIS_HASH
    expected = 1
    for event in AuditEvent.objects.order_by("object_type", "object_id", "sequence").iterator(chunk_size=2000):
        if (event.object_type, event.object_id) != current:
            current = (event.object_type, event.object_id)
            old_previous = new_previous = GENESIS_HASH
            expected = 1
        fields = event_fields(event)
        if (
            event.sequence != expected
            or event.previous_hash != old_previous
            or unkeyed_hash(**fields) != event.entry_hash
        ):
            raise RuntimeError(
                f"audit event {event.id} ({event.object_type} {event.object_id}, position {event.sequence}) does "
                "not verify with the hash it was written with: the trail was altered before being keyed. Find out "
                "why (manage.py verify_audit on the previous release) before migrating."
            )
        old_previous = event.entry_hash
        fields["previous_hash"] = new_previous
        new_hash = compute_hash(**fields)
        AuditEvent.objects.filter(pk=event.pk).update(previous_hash=new_previous, entry_hash=new_hash)
        new_previous = new_hash
        expected += 1
    if postgresql:
        schema_editor.execute("ALTER TABLE registry_auditevent ENABLE TRIGGER registry_auditevent_append_only")


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD)


class Migration(migrations.Migration):
    dependencies = [("registry", "0004_audit_anchor_access_log")]

    operations = [
        # Not reversible: the unkeyed hashes are not kept (a keyed trail verifies only with its key).
        migrations.RunPython(key_the_existing_chains, migrations.RunPython.noop),
        migrations.RunPython(guard, unguard),
    ]
