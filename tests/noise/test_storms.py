"""Alert storm warning: once per threshold, the timeline records it and the current level is
notified once more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import escalation, lifecycle
from oncall.models import Incident, MaintenanceWindow, TimelineEntry
from oncall.timeline import Actor
from tests.payloads import am_alert
from tests.stub_platform.platform import NOTIFIED_LEVELS

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("recording_platform")]
Kind = TimelineEntry.Kind


@pytest.fixture
def grouped(channel):
    channel.group_by_labels = ["cluster"]
    channel.storm_thresholds = [3, 5]
    channel.full_clean()
    channel.save()
    return channel


def alerts(*names: str) -> list[dict]:
    return [am_alert(name, cluster="eu") for name in names]


def storms(incident: Incident) -> list[str]:
    return list(incident.timeline.filter(kind=Kind.ALERT_STORM).values_list("message", flat=True))


def notifications(incident: Incident) -> int:
    return sum(1 for pk, _ in NOTIFIED_LEVELS if pk == incident.pk)


def test_it_warns_once_when_the_count_reaches_a_threshold(fire, grouped):
    fire(*alerts("A"))
    incident = Incident.objects.get()
    assert notifications(incident) == 1
    fire(*alerts("B", "C"))

    incident.refresh_from_db()
    assert incident.storm_alerts == 3
    assert storms(incident) == ["Alert storm: 3 alerts; level 1 notified again: level 0 people."]
    assert notifications(incident) == 2
    fire(*alerts("D"))
    fire(*alerts("B"))  # a repeat adds no alert
    assert len(storms(incident)) == 1
    assert notifications(incident) == 2


def test_each_threshold_warns_once_and_a_jump_over_two_warns_once(fire, grouped):
    fire(*alerts("A"))
    fire(*alerts("B", "C", "D", "E", "F"))
    incident = Incident.objects.get()
    assert incident.storm_alerts == 5
    assert storms(incident) == ["Alert storm: 6 alerts; level 1 notified again: level 0 people."]
    fire(*alerts("G", "H"))
    assert len(storms(incident)) == 1
    assert notifications(incident) == 2


def test_a_new_incident_born_in_a_storm_is_notified_once(fire, grouped):
    fire(*alerts("A", "B", "C", "D"))
    incident = Incident.objects.get()
    assert incident.storm_alerts == 3
    assert storms(incident) == ["Alert storm: 4 alerts."]
    assert notifications(incident) == 1


def test_the_level_notified_again_is_the_last_one_notified(fire, grouped):
    fire(*alerts("A"))
    incident = Incident.objects.get()
    rule = incident.escalation_rule
    rule.levels.create(position=2, escalate_after_minutes=5, notify_channel_members=True)
    incident.next_escalation_at = timezone.now()
    incident.save()
    escalation.step(incident.pk, incident.next_escalation_at.isoformat())
    NOTIFIED_LEVELS.clear()

    fire(*alerts("B", "C"))
    assert list(NOTIFIED_LEVELS) == [(incident.pk, 2)]
    assert "level 2 notified again" in storms(incident)[0]


def test_a_snoozed_incident_records_the_storm_without_notifying(fire, grouped, responder):
    fire(*alerts("A"))
    incident = Incident.objects.get()
    lifecycle.snooze(incident, Actor(responder, "web"), timedelta(minutes=30))
    fire(*alerts("B", "C"))
    assert storms(incident) == ["Alert storm: 3 alerts."]
    assert notifications(incident) == 1


def test_a_storm_during_maintenance_records_it_without_notifying(fire, grouped, source):
    fire(*alerts("A"))  # notified before the window
    incident = Incident.objects.get()
    now = timezone.now()
    MaintenanceWindow.objects.create(
        name="DB upgrade",
        source=source,
        starts_at=now - timedelta(minutes=5),
        ends_at=now + timedelta(hours=1),
    )
    fire(*alerts("B", "C"))
    incident.refresh_from_db()
    assert incident.storm_alerts == 3
    assert storms(incident) == ["Alert storm: 3 alerts."]
    assert notifications(incident) == 1


def test_no_thresholds_no_storm(fire, channel):
    channel.group_by_labels = ["cluster"]
    channel.save()
    fire(*alerts("A", "B", "C", "D", "E", "F"))
    assert Incident.objects.get().storm_alerts == 0
