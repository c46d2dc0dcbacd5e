"""The read-access log becomes append-only and hash-chained, like the audit trail (issue 17).

1. Each read gets its place in its object's chain (``sequence``), the previous read's hash and its own keyed hash
   (HMAC-SHA256 under ``AUDIT_HMAC_KEY``, ``registry.access_log.access_hash``). The reads already there are
   chained here, per object in the order they were written (time, then id), so ``verify_audit`` passes right
   after the upgrade; set ``AUDIT_HMAC_KEY`` before migrating and run ``audit_anchor`` after.
2. A unique (object, position) constraint (also the index the chain head is read with) replaces the object index.
3. ``AccessLogAnchor``: the signed anchors of the read chains' heads.
4. On PostgreSQL, ``registry_accesslog_lock_heads``: locks chains and reads their heads in one statement
   (``registry.access_log``).
5. On PostgreSQL: UPDATE, DELETE and TRUNCATE of the read-access log and of its anchors are refused by triggers,
   whoever asks (the function of migration 0005: only a test database whose connection sets
   ``registry.allow_audit_truncate=on`` may be truncated). SQLite has no such guard, as for the audit trail:
   there ``verify_audit`` detects any alteration.
"""

from django.db import migrations, models

GUARD = """
CREATE TRIGGER registry_accesslog_append_only
    BEFORE UPDATE OR DELETE ON registry_accesslog
    FOR EACH ROW EXECUTE FUNCTION registry_audit_append_only();
CREATE TRIGGER registry_accesslog_no_truncate
    BEFORE TRUNCATE ON registry_accesslog
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_append_only();
CREATE TRIGGER registry_accessloganchor_append_only
    BEFORE UPDATE OR DELETE ON registry_accessloganchor
    FOR EACH ROW EXECUTE FUNCTION registry_audit_append_only();
CREATE TRIGGER registry_accessloganchor_no_truncate
    BEFORE TRUNCATE ON registry_accessloganchor
    FOR EACH STATEMENT EXECUTE FUNCTION registry_audit_append_only();
"""

# Locks the chains (keys sorted by the caller, so two writers never deadlock), then reads their heads: one
# statement for both. A VOLATILE function takes a fresh snapshot for each query it runs, so the heads read after
# the locks include every row committed by the lock's previous holder.
HEADS_FUNCTION = """
CREATE OR REPLACE FUNCTION registry_accesslog_lock_heads(
    lock_namespace integer, lock_keys integer[], object_types text[], object_ids text[]
) RETURNS TABLE (head_type text, head_id text, head_sequence integer, head_hash text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_namespace, k) FROM unnest(lock_keys) AS k;
    RETURN QUERY
        SELECT h.object_type::text, h.object_id::text, h.sequence::integer, h.entry_hash::text
        FROM unnest(object_types, object_ids) AS wanted(t, i)
        CROSS JOIN LATERAL (
            SELECT a.object_type, a.object_id, a.sequence, a.entry_hash FROM registry_accesslog a
            WHERE a.object_type = wanted.t AND a.object_id = wanted.i
            ORDER BY a.sequence DESC LIMIT 1
        ) AS h;
END;
$$;
"""

UNGUARD = """
DROP FUNCTION IF EXISTS registry_accesslog_lock_heads(integer, integer[], text[], text[]);
DROP TRIGGER IF EXISTS registry_accessloganchor_no_truncate ON registry_accessloganchor;
DROP TRIGGER IF EXISTS registry_accessloganchor_append_only ON registry_accessloganchor;
DROP TRIGGER IF EXISTS registry_accesslog_no_truncate ON registry_accesslog;
DROP TRIGGER IF EXISTS registry_accesslog_append_only ON registry_accesslog;
"""

BATCH = 2000


def chain_the_existing_reads(apps, schema_editor):
    """Chain every read already logged, per object in the order written. Runs before the guards exist."""
    from registry.audit import GENESIS_HASH
    from registry.access_log import access_hash

    AccessLog = apps.get_model("registry", "AccessLog")
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        # No pending foreign-key checks of this transaction in the way of the ALTER TABLEs that follow.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    rows = AccessLog.objects.order_by("object_type", "object_id", "occurred_at", "id").values_list(
        "id", "occurred_at", "user_id", "username", "kind", "object_type", "object_id", "region_id"
    )
    current, previous, sequence = None, GENESIS_HASH, 0
    batch = []
    update = f"UPDATE {AccessLog._meta.db_table} SET sequence = %s, previous_hash = %s, entry_hash = %s WHERE id = %s"
    with connection.cursor() as cursor:
        for row_id, occurred_at, user_id, username, kind, object_type, object_id, region_id in rows.iterator(
            chunk_size=BATCH
        ):
            if (object_type, object_id) != current:
                current, previous, sequence = (object_type, object_id), GENESIS_HASH, 0
            sequence += 1
            entry_hash = access_hash(
                previous_hash=previous,
                occurred_at=occurred_at,
                user_id=user_id,
                username=username,
                kind=kind,
                object_type=object_type,
                object_id=object_id,
                region_id=region_id,
                sequence=sequence,
            )
            batch.append((sequence, previous, entry_hash, row_id))
            previous = entry_hash
            if len(batch) >= BATCH:
                cursor.executemany(update, batch)
                batch = []
        if batch:
            cursor.executemany(update, batch)


def guard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GUARD)
        schema_editor.execute(HEADS_FUNCTION)


def unguard(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(UNGUARD)


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_patient_identity_encrypted")]

    operations = [
        migrations.AddField(
            model_name="accesslog",
            name="sequence",
            field=models.PositiveIntegerField(default=0, verbose_name="position in the object's chain"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="accesslog",
            name="previous_hash",
            field=models.CharField(blank=True, default="", max_length=64, verbose_name="hash of the previous read"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="accesslog",
            name="entry_hash",
            field=models.CharField(default="", max_length=64, verbose_name="hash of this read"),
            preserve_default=False,
        ),
        # Not reversible as data (the chain is kept if the schema goes back): nothing to undo.
        migrations.RunPython(chain_the_existing_reads, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="accesslog",
            constraint=models.UniqueConstraint(
                fields=("object_type", "object_id", "sequence"), name="access_chain_position"
            ),
        ),
        migrations.RemoveIndex(model_name="accesslog", name="access_object"),
        migrations.CreateModel(
            name="AccessLogAnchor",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField(verbose_name="when")),
                ("last_event_id", models.BigIntegerField(verbose_name="last read anchored")),
                ("event_count", models.BigIntegerField(verbose_name="reads up to the last one anchored")),
                ("heads", models.JSONField(default=dict, verbose_name="chain heads")),
                ("previous_signature", models.CharField(blank=True, max_length=64)),
                ("signature", models.CharField(max_length=64, unique=True)),
            ],
            options={
                "verbose_name": "read-access anchor",
                "verbose_name_plural": "read-access anchors",
                "ordering": ["id"],
                "constraints": [
                    models.UniqueConstraint(fields=("previous_signature",), name="access_anchor_single_successor")
                ],
            },
        ),
        migrations.RunPython(guard, unguard),
    ]
