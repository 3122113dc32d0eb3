"""Incidents keep the name of the alert source that acknowledged them, rather than the lists
and cards reading it from the timeline; incidents acknowledged that way before take it from
their latest claim entry."""

from django.db import migrations, models


def name_the_sources_that_acknowledged(apps, schema_editor):
    Incident = apps.get_model("oncall", "Incident")
    TimelineEntry = apps.get_model("oncall", "TimelineEntry")
    held_by_no_person = Incident.objects.filter(status="acknowledged", claimed_by__isnull=True)
    for incident in held_by_no_person.iterator():
        entry = (
            TimelineEntry.objects.filter(incident=incident, kind="claimed")
            .order_by("-created_at", "-id")
            .first()
        )
        name = (entry.data or {}).get("name", "") if entry else ""
        if name:
            incident.acknowledged_by_source = name[:200]
            incident.save(update_fields=["acknowledged_by_source"])


class Migration(migrations.Migration):
    dependencies = [
        ("oncall", "0007_inbound_event_chunks"),
    ]

    operations = [
        migrations.AddField(
            model_name="incident",
            name="acknowledged_by_source",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.RunPython(name_the_sources_that_acknowledged, migrations.RunPython.noop),
    ]
