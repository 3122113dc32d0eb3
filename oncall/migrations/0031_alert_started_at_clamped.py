"""Alerts stored before the merge clamped their start: a start later than when the console
first heard of the alert (a sender's fast clock) becomes that moment, as the merge now stores
it, so that readers take ``started_at`` as it is."""

from django.db import migrations
from django.db.models import F


def clamp(apps, schema_editor):
    Alert = apps.get_model("oncall", "Alert")
    Alert.objects.filter(started_at__gt=F("first_seen")).update(started_at=F("first_seen"))


class Migration(migrations.Migration):

    dependencies = [
        ("oncall", "0030_incident_in_maintenance_derived"),
    ]

    operations = [
        migrations.RunPython(clamp, migrations.RunPython.noop, elidable=True),
    ]
