"""Insights: incidents keep when they were first claimed (time to acknowledge without reading
the timeline; incidents claimed before take it from their earliest claim entry), and an index
finds a channel's incidents opened within a period."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def remember_first_claims(apps, schema_editor):
    Incident = apps.get_model("oncall", "Incident")
    TimelineEntry = apps.get_model("oncall", "TimelineEntry")
    earliest_claim = (
        TimelineEntry.objects.filter(incident=OuterRef("pk"), kind="claimed")
        .order_by("created_at", "id")
        .values("created_at")[:1]
    )
    claimed = TimelineEntry.objects.filter(kind="claimed").values("incident_id")
    Incident.objects.filter(pk__in=claimed).update(first_claimed_at=Subquery(earliest_claim))


class Migration(migrations.Migration):
    dependencies = [
        ("oncall", "0009_schedules"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="first_claimed_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddIndex(
            model_name="incident",
            index=models.Index(fields=["channel", "created_at"], name="incident_channel_created"),
        ),
        migrations.RunPython(remember_first_claims, migrations.RunPython.noop),
    ]
