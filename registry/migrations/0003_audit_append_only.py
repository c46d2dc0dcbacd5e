"""On PostgreSQL the database itself refuses UPDATE and DELETE on the audit trail.

SQLite has no such guard; there ``manage.py verify_audit`` detects any alteration.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION registry_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the audit trail is append-only: ' || TG_OP || ' refused on registry_auditevent',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER registry_auditevent_append_only
    BEFORE UPDATE OR DELETE ON registry_auditevent
    FOR EACH ROW EXECUTE FUNCTION registry_auditevent_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS registry_auditevent_append_only ON registry_auditevent;
DROP FUNCTION IF EXISTS registry_auditevent_append_only();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_regions")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
