"""Incident numbers come from a PostgreSQL sequence (see ``oncall.merge.next_incident_number``);
other databases use the ``Counter`` row instead."""

from django.db import migrations

CREATE = "CREATE SEQUENCE IF NOT EXISTS oncall_incident_number_seq START 1"
DROP = "DROP SEQUENCE IF EXISTS oncall_incident_number_seq"


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("oncall", "0001_initial")]

    operations = [migrations.RunPython(create_sequence, drop_sequence)]
