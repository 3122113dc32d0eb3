"""Alert -> incident: dedup, grouping, recovery, auto-close, re-firing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import ingest, lifecycle, merge
from oncall.models import Alert, InboundEvent, Incident, TimelineEntry
from oncall.timeline import Actor
from tests import payloads
from tests.factories import AlertSourceFactory

Kind = TimelineEntry.Kind


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


def fire(push, source, *alerts):
    response = push(source, payloads.alertmanager(*alerts))
    assert response.status_code == 200, response.content
    return response


def test_a_firing_alert_opens_an_incident(push, source, channel):
    fire(push, source, payloads.am_alert("HighLatency", severity="warning"))

    incident = Incident.objects.get()
    alert = incident.alerts.get()
    assert (incident.channel, incident.status, incident.severity) == (
        channel,
        "triggered",
        "warning",
    )
    assert incident.title == "HighLatency on db-1:9100"
    assert incident.number >= 1
    assert incident.alert_count == 1
    assert alert.alert_key == "fp-HighLatency-db-1:9100"
    assert alert.labels["alertname"] == "HighLatency"
    assert alert.event_count == 1
    assert list(incident.timeline.values_list("kind", flat=True)) == [
        Kind.CREATED,
        Kind.ALERT_ADDED,
        Kind.NOTIFIED,  # escalation starts with the channel's default rule
    ]
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED


def test_repeated_events_merge_into_one_alert(push, source):
    fire(push, source, payloads.am_alert())
    changed = payloads.am_alert()
    changed["annotations"]["description"] = "now p99 above 5s"
    fire(push, source, changed)

    alert = Alert.objects.get()
    assert alert.event_count == 2
    assert alert.description == "now p99 above 5s"
    assert alert.last_seen >= alert.first_seen
    assert Incident.objects.count() == 1


def test_the_same_key_from_another_source_is_another_alert(push, source, channel):
    other = AlertSourceFactory(channel=channel)
    fire(push, source, payloads.am_alert())
    fire(push, other, payloads.am_alert())
    assert Alert.objects.count() == 2
    assert Incident.objects.count() == 2


def test_each_alert_gets_its_own_incident_by_default(push, source):
    fire(push, source, payloads.am_alert("A"), payloads.am_alert("B"))
    assert Incident.objects.count() == 2


def test_alerts_group_by_the_channels_labels(push, source, channel):
    channel.group_by_labels = ["cluster"]
    channel.save()
    fire(
        push,
        source,
        payloads.am_alert("A", cluster="eu"),
        payloads.am_alert("B", cluster="eu"),
        payloads.am_alert("C", cluster="us"),
    )

    eu, us = (
        Incident.objects.filter(alerts__labels__cluster=c).distinct().get() for c in ("eu", "us")
    )
    assert eu.alerts.count() == 2
    assert eu.alert_count == 2
    assert us.alerts.count() == 1


def test_a_grouped_incident_takes_its_most_urgent_alerts_severity(push, source, channel):
    channel.group_by_labels = ["cluster"]
    channel.save()
    fire(push, source, payloads.am_alert("A", severity="info", cluster="eu"))
    fire(push, source, payloads.am_alert("B", severity="critical", cluster="eu"))
    fire(push, source, payloads.am_alert("C", severity="warning", cluster="eu"))
    assert Incident.objects.get().severity == "critical"


def test_grouping_respects_the_time_window(push, source, channel):
    channel.group_by_labels = ["cluster"]
    channel.group_window_minutes = 10
    channel.save()
    fire(push, source, payloads.am_alert("A", cluster="eu"))
    Incident.objects.update(created_at=timezone.now() - timedelta(minutes=11))
    fire(push, source, payloads.am_alert("B", cluster="eu"))
    assert Incident.objects.count() == 2

    fire(push, source, payloads.am_alert("C", cluster="eu"))
    newest = Incident.objects.order_by("-created_at").first()
    assert newest.alerts.count() == 2


def test_without_a_window_grouping_joins_an_old_open_incident(push, source, channel):
    channel.group_by_labels = ["cluster"]
    channel.save()
    fire(push, source, payloads.am_alert("A", cluster="eu"))
    Incident.objects.update(created_at=timezone.now() - timedelta(days=3))
    fire(push, source, payloads.am_alert("B", cluster="eu"))
    assert Incident.objects.get().alerts.count() == 2


def test_recovery_of_every_alert_closes_the_incident(push, source):
    fire(push, source, payloads.am_alert("A"), payloads.am_alert("B"))
    incident_a = Incident.objects.get(alerts__alert_key="fp-A-db-1:9100")
    fire(push, source, payloads.am_alert("A", status="resolved"))

    incident_a.refresh_from_db()
    assert incident_a.status == Incident.Status.CLOSED
    assert incident_a.closed_by is None
    closing = incident_a.timeline.get(kind=Kind.CLOSED)
    assert closing.message == "Closed by system: every alert recovered"
    assert Incident.objects.exclude(status="closed").count() == 1  # B still firing


def test_recoveries_close_their_incidents_inside_the_merge_without_a_savepoint(push, source):
    """The merge's transaction fails whole with any error of a close: a savepoint around each
    would be two round trips for nothing. Nor does a close read alerts: the batch's are
    written once, at the end, while no webhook endpoint listens."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fire(push, source, payloads.am_alert("A"), payloads.am_alert("B"))
    with CaptureQueriesContext(connection) as queries:
        fire(
            push,
            source,
            payloads.am_alert("A", status="resolved"),
            payloads.am_alert("B", status="resolved"),
        )

    assert set(Incident.objects.values_list("status", flat=True)) == {Incident.Status.CLOSED}
    # One: the processing's own transaction, a savepoint here only because the test runs
    # inside one; the closes add none.
    assert [q["sql"].startswith("SAVEPOINT") for q in queries].count(True) == 1
    assert ['UPDATE "oncall_alert"' in q["sql"] for q in queries].count(True) == 1


def test_a_grouped_incident_closes_only_when_its_last_alert_recovers(push, source, channel):
    channel.group_by_labels = ["cluster"]
    channel.save()
    fire(push, source, payloads.am_alert("A", cluster="eu"), payloads.am_alert("B", cluster="eu"))
    fire(push, source, payloads.am_alert("A", status="resolved", cluster="eu"))
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.alerts.get(alert_key="fp-A-db-1:9100").status == "resolved"

    fire(push, source, payloads.am_alert("B", status="resolved", cluster="eu"))
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLOSED


def test_auto_close_can_be_turned_off(push, source, channel):
    channel.auto_close = False
    channel.save()
    fire(push, source, payloads.am_alert())
    fire(push, source, payloads.am_alert(status="resolved"))
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.TRIGGERED
    assert incident.alerts.get().status == "resolved"
    assert incident.timeline.filter(kind=Kind.ALERT_RESOLVED).exists()


def test_a_recovered_alert_firing_again_in_an_open_incident_rejoins_it(push, source, channel):
    channel.auto_close = False
    channel.save()
    fire(push, source, payloads.am_alert())
    fire(push, source, payloads.am_alert(status="resolved"))
    fire(push, source, payloads.am_alert())
    alert = Alert.objects.get()
    assert alert.status == "firing"
    assert alert.resolved_at is None
    assert Incident.objects.get().timeline.filter(kind=Kind.ALERT_REFIRED).exists()


def test_a_new_firing_after_close_opens_a_new_incident(push, source):
    fire(push, source, payloads.am_alert())
    fire(push, source, payloads.am_alert(status="resolved"))
    fire(push, source, payloads.am_alert())

    first, second = Incident.objects.order_by("number")
    assert first.status == "closed"
    assert second.status == "triggered"
    assert second.number > first.number
    assert Alert.objects.count() == 2


def test_an_incident_closed_by_hand_gets_no_more_alerts(push, source, responder):
    fire(push, source, payloads.am_alert())
    lifecycle.close(Incident.objects.get(), Actor(responder))
    fire(push, source, payloads.am_alert())
    assert Incident.objects.count() == 2


def test_a_recovery_for_an_unknown_alert_changes_nothing(push, source):
    fire(push, source, payloads.am_alert(status="resolved"))
    assert not Incident.objects.exists()
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED


def test_a_mixed_batch_opens_and_recovers_in_one_push(push, source):
    fire(push, source, payloads.am_alert("A"))
    fire(push, source, payloads.am_alert("A", status="resolved"), payloads.am_alert("B"))
    assert Incident.objects.get(alerts__alert_key="fp-A-db-1:9100").status == "closed"
    assert Incident.objects.get(alerts__alert_key="fp-B-db-1:9100").status == "triggered"


def test_processing_twice_merges_once(push, source):
    push(source, payloads.alertmanager(payloads.am_alert()), process=False)
    inbound = InboundEvent.objects.get()
    assert ingest.process(inbound.pk) is True
    assert ingest.process(inbound.pk) is False
    assert Alert.objects.get().event_count == 1


def test_a_failing_batch_is_kept_pending_with_its_error(push, source, monkeypatch):
    push(source, payloads.alertmanager(payloads.am_alert()), process=False)
    inbound = InboundEvent.objects.get()

    def broken(self, channel, event):
        raise RuntimeError("database went away")

    monkeypatch.setattr(merge.Merger, "apply", broken)
    with pytest.raises(RuntimeError):
        ingest.process(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundEvent.Status.PENDING
    assert inbound.attempts == 1
    assert inbound.error == "RuntimeError: database went away"
    assert not Incident.objects.exists()


def test_a_batch_that_keeps_failing_is_marked_failed(push, source, monkeypatch):
    push(source, payloads.alertmanager(payloads.am_alert()), process=False)
    inbound = InboundEvent.objects.get()
    monkeypatch.setattr(merge.Merger, "apply", lambda *a: 1 / 0)
    for _ in range(ingest.MAX_PROCESS_ATTEMPTS):
        with pytest.raises(ZeroDivisionError):
            ingest.process(inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundEvent.Status.FAILED


def test_severity_overrides_remap_the_senders_words(push, source):
    source.severity_overrides = {"P1": "critical", "warning": "info"}
    source.save()
    fire(
        push,
        source,
        payloads.am_alert("A", severity="P1"),
        payloads.am_alert("B", severity="warning"),
    )
    assert Alert.objects.get(alert_key__startswith="fp-A").severity == "critical"
    assert Alert.objects.get(alert_key__startswith="fp-B").severity == "info"


def test_pagerduty_acknowledge_claims_the_incident_for_the_source(push, channel):
    source = AlertSourceFactory(channel=channel, kind="pagerduty", name="Legacy PD")
    push(source, payloads.pagerduty("trigger", dedup_key="disk-db-1"))
    push(source, payloads.pagerduty("acknowledge", dedup_key="disk-db-1"))
    incident = Incident.objects.get()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert incident.timeline.get(kind=Kind.CLAIMED).message == "Acknowledged by Legacy PD"

    push(source, payloads.pagerduty("resolve", dedup_key="disk-db-1"))
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLOSED
