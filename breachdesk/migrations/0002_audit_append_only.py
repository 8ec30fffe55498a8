"""On PostgreSQL, make the audit table append-only at the database: a trigger rejects every
UPDATE and DELETE, whoever issues it (DESIGN.md "Audit trail"). A superuser can still
disable the trigger; the hash chain then shows what they changed."""

from typing import Any

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION breachdesk_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % rejected on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS breachdesk_auditevent_append_only ON breachdesk_auditevent;
CREATE TRIGGER breachdesk_auditevent_append_only
    BEFORE UPDATE OR DELETE ON breachdesk_auditevent
    FOR EACH ROW EXECUTE FUNCTION breachdesk_audit_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS breachdesk_auditevent_append_only ON breachdesk_auditevent;
DROP FUNCTION IF EXISTS breachdesk_audit_append_only();
"""


def forwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("breachdesk", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
