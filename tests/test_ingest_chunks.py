"""Big pushes: refused past the cap, merged in chunks (each its own transaction and task),
resumed by the sweep after a failure, and stored exactly as a one-shot merge would store them."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oncall import escalation, ingest, merge, tasks
from oncall.models import Alert, InboundEvent, Incident, TimelineEntry
from tests import payloads
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    EscalationLevelFactory,
    EscalationRuleFactory,
)

Kind = TimelineEntry.Kind


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


def alerts(count: int, name: str = "Disk", severity: str = "warning") -> list[dict]:
    return [
        payloads.am_alert(name, severity=severity, instance=f"db-{i}:9100") for i in range(count)
    ]


def stored(source, *alerts_: dict) -> InboundEvent:
    """Accept a push without processing it (its task is lost, as far as the test knows)."""
    ingest.accept(source, payloads.alertmanager(*alerts_), body_bytes=0)
    return InboundEvent.objects.latest("pk")


def with_critical_rule(channel):
    """Channel ``channel`` escalates critical incidents by rule "Critical", others by its
    Default rule: the rule an incident gets shows the severity it had when planned."""
    channel.escalation_rules.update(position=1)
    rule = EscalationRuleFactory(channel=channel, name="Critical", position=0)
    rule.severities = ["critical"]
    rule.save()
    EscalationLevelFactory(rule=rule, notify_channel_members=True)
    return channel


# --- the cap -------------------------------------------------------------------------------------


@override_settings(PUSH_MAX_ALERTS=3)
def test_a_push_over_the_cap_is_refused_whole_naming_the_cap(push, source):
    response = push(source, payloads.alertmanager(*alerts(4)))

    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["code"], error["limit"], error["count"]) == ("too_many_alerts", 3, 4)
    assert "at most 3" in error["message"]
    assert "PUSH_MAX_ALERTS" in error["message"]
    assert not InboundEvent.objects.exists()
    assert not Alert.objects.exists()


@override_settings(PUSH_MAX_ALERTS=3)
def test_a_push_at_the_cap_is_accepted(push, source):
    assert push(source, payloads.alertmanager(*alerts(3))).status_code == 200
    assert Alert.objects.count() == 3


# --- chunks --------------------------------------------------------------------------------------


@override_settings(INGEST_CHUNK_ALERTS=2)
def test_each_task_merges_one_chunk_in_its_own_transaction_and_queues_the_next(
    source, django_capture_on_commit_callbacks
):
    inbound = stored(source, *alerts(5))

    progress = []
    for _ in range(3):
        with django_capture_on_commit_callbacks() as queued:  # not run: one task at a time
            assert ingest.process(inbound.pk) is True
        inbound.refresh_from_db()
        progress.append((inbound.merged, Alert.objects.count(), inbound.status, len(queued)))

    # Two tasks queue the next chunk (the rest of the callbacks are escalation steps).
    assert [row[:3] for row in progress] == [
        (2, 2, InboundEvent.Status.PENDING),
        (4, 4, InboundEvent.Status.PENDING),
        (5, 5, InboundEvent.Status.PROCESSED),
    ]
    assert ingest.process(inbound.pk) is False  # a stray copy of the task finds nothing to do
    assert Incident.objects.count() == 5
    assert (inbound.attempts, inbound.error) == (1, "")


@override_settings(INGEST_CHUNK_ALERTS=2)
def test_a_push_merged_through_its_tasks_runs_every_chunk(push, source):
    push(source, payloads.alertmanager(*alerts(5)))

    inbound = InboundEvent.objects.get()
    assert (inbound.status, inbound.merged) == (InboundEvent.Status.PROCESSED, 5)
    assert sorted(Alert.objects.values_list("event_count", flat=True)) == [1] * 5


@override_settings(INGEST_CHUNK_ALERTS=2)
def test_a_chunk_interrupted_midway_is_redone_by_the_sweep_without_duplicates(
    source, monkeypatch, django_capture_on_commit_callbacks
):
    inbound = stored(source, *alerts(5))
    real_apply = merge.Merger.apply
    applied = []

    def dies_in_the_second_chunk(self, channel, event):
        applied.append(event.alert_key)
        if len(applied) == 4:  # the second event of chunk 2: the first one is written already
            raise RuntimeError("worker lost its database connection")
        real_apply(self, channel, event)

    monkeypatch.setattr(merge.Merger, "apply", dies_in_the_second_chunk)
    with django_capture_on_commit_callbacks(execute=True):  # chunk 1, then chunk 2's task
        ingest.process(inbound.pk)

    inbound.refresh_from_db()
    assert (inbound.status, inbound.merged, inbound.attempts) == ("pending", 2, 1)
    assert inbound.error == "RuntimeError: worker lost its database connection"
    assert Alert.objects.count() == 2  # chunk 2's first alert went with its transaction

    monkeypatch.setattr(merge.Merger, "apply", real_apply)
    assert tasks.sweep_inbound_events() == 0  # just arrived: its task may still be coming
    long_ago = timezone.now() - timedelta(minutes=2)
    InboundEvent.objects.update(received_at=long_ago, progressed_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.sweep_inbound_events() == 1

    inbound.refresh_from_db()
    assert (inbound.status, inbound.merged) == (InboundEvent.Status.PROCESSED, 5)
    keys = list(Alert.objects.values_list("alert_key", flat=True))
    assert len(keys) == len(set(keys)) == 5
    assert sorted(Alert.objects.values_list("event_count", flat=True)) == [1] * 5
    assert Incident.objects.count() == 5
    assert TimelineEntry.objects.filter(kind=Kind.ALERT_ADDED).count() == 5


def test_the_sweep_leaves_a_big_push_alone_while_its_chunks_keep_coming(source):
    inbound = stored(source, *alerts(3))
    InboundEvent.objects.update(
        received_at=timezone.now() - timedelta(minutes=5), progressed_at=timezone.now()
    )
    assert tasks.sweep_inbound_events() == 0

    InboundEvent.objects.update(progressed_at=timezone.now() - timedelta(minutes=2))
    assert tasks.sweep_inbound_events() == 1
    inbound.refresh_from_db()
    assert inbound.status == InboundEvent.Status.PROCESSED


@override_settings(INGEST_CHUNK_ALERTS=2)
def test_an_incident_a_later_chunk_changes_is_escalated_after_that_chunk(
    source, channel, django_capture_on_commit_callbacks
):
    channel.group_by_labels = ["alertname"]
    channel.save()
    with_critical_rule(channel)
    critical = payloads.am_alert("Disk", severity="critical", instance="db-9:9100")
    inbound = stored(source, *alerts(2, severity="warning"), critical)

    ingest.process(inbound.pk)  # chunk 1 opens the incident, warning so far
    incident = Incident.objects.get()
    inbound.refresh_from_db()
    assert inbound.waiting_incidents == [incident.pk]
    assert incident.escalation_rule is None
    assert incident.next_escalation_at is None

    with django_capture_on_commit_callbacks(execute=True):
        ingest.process(inbound.pk)  # chunk 2 makes it critical, then plans it

    incident.refresh_from_db()
    inbound.refresh_from_db()
    assert (incident.severity, incident.alert_count) == ("critical", 3)
    assert incident.escalation_rule.name == "Critical"  # as a one-shot merge chooses
    assert incident.timeline.filter(kind=Kind.NOTIFIED).count() == 1
    assert inbound.waiting_incidents == []


@override_settings(INGEST_CHUNK_ALERTS=1)
def test_a_push_marked_failed_escalates_what_its_earlier_chunks_opened(
    source, channel, monkeypatch
):
    channel.group_by_labels = ["alertname"]
    channel.save()
    inbound = stored(source, *alerts(2))
    ingest.process(inbound.pk)
    incident = Incident.objects.get()
    assert incident.next_escalation_at is None  # waiting for chunk 2

    monkeypatch.setattr(merge.Merger, "apply", lambda *args: 1 / 0)
    for _ in range(ingest.MAX_PROCESS_ATTEMPTS):
        with pytest.raises(ZeroDivisionError):
            ingest.process(inbound.pk)

    inbound.refresh_from_db()
    incident.refresh_from_db()
    assert (inbound.status, inbound.merged) == (InboundEvent.Status.FAILED, 1)
    assert incident.escalation_rule.name == "Default"
    assert incident.next_escalation_at is not None  # due: a task or the sweep runs it


def test_a_batch_opening_many_incidents_rings_once_for_a_runner_of_their_first_steps(
    push, source, monkeypatch
):
    monkeypatch.setattr(escalation, "RUNNER_BATCH", 2)
    rung = []
    monkeypatch.setattr(tasks.escalation_start, "delay", lambda *args: rung.append(args))

    push(source, payloads.alertmanager(*alerts(5)))
    push(source, payloads.alertmanager(*alerts(7)[5:]))  # the runner has not begun yet

    assert not Incident.objects.filter(timeline__kind=Kind.NOTIFIED).exists()  # not inline
    assert rung == [()]
    assert tasks.escalation.run_due_steps() == 7  # in batches of 2
    notified = Incident.objects.filter(timeline__kind=Kind.NOTIFIED)
    assert notified.count() == 7
    push(source, payloads.alertmanager(*alerts(8)[7:]))  # after the runner began: rings again
    assert rung == [(), ()]


# --- chunked and one-shot merges store the same ---------------------------------------------

NAMES = ["Disk", "Load", "Memory"]
event_strategy = st.tuples(
    st.sampled_from(NAMES),
    st.sampled_from(["db-1", "db-2", "db-3"]),
    st.sampled_from(["firing", "firing", "resolved"]),
    st.sampled_from(["critical", "warning", "info"]),
)


def am_event(name: str, instance: str, status: str, severity: str) -> dict:
    return payloads.am_alert(name, status=status, severity=severity, instance=instance)


def snapshot(channel) -> list[tuple]:
    """What ingestion stored in ``channel``, free of ids and of the source's identity."""
    rows = []
    for incident in Incident.objects.filter(channel=channel).order_by("number"):
        alerts_ = incident.alerts.values_list("alert_key", "status", "severity", "event_count")
        rows.append(
            (
                sorted(alerts_),
                incident.status,
                incident.severity,
                incident.alert_count,
                incident.title,
                incident.escalation_rule.name if incident.escalation_rule else None,
                incident.next_escalation_at is not None,
                Counter(incident.timeline.values_list("kind", flat=True)),
            )
        )
    return rows


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    earlier=st.lists(event_strategy, max_size=4),
    big=st.lists(event_strategy, min_size=1, max_size=12),
    chunk=st.integers(min_value=1, max_value=4),
    group_by=st.sampled_from([[], ["alertname"]]),
)
def test_chunked_and_one_shot_merges_store_the_same_incidents_and_alerts(
    db, push, earlier, big, chunk, group_by
):
    stores = {}
    for chunk_size in (10_000, chunk):
        channel = with_critical_rule(ChannelFactory(group_by_labels=group_by))
        source = AlertSourceFactory(channel=channel)
        if earlier:
            push(source, payloads.alertmanager(*(am_event(*e) for e in earlier)))
        with override_settings(INGEST_CHUNK_ALERTS=chunk_size):
            push(source, payloads.alertmanager(*(am_event(*e) for e in big)))
        assert not InboundEvent.objects.filter(source=source, status="pending").exists()
        stores[chunk_size] = snapshot(channel)

    assert stores[chunk] == stores[10_000]


@pytest.mark.django_db(transaction=True)
@override_settings(INGEST_CHUNK_ALERTS=1)
def test_with_eager_tasks_a_push_of_many_chunks_runs_them_one_after_the_other(client):
    """CELERY_TASK_ALWAYS_EAGER runs each chunk's task as it is sent, at the previous chunk's
    commit (real commits here): the chunks must not nest one inside the other."""
    source = AlertSourceFactory(channel=ChannelFactory(group_by_labels=["alertname"]))
    body = payloads.alertmanager(*alerts(150))  # one incident: the chunks are cheap

    response = client.post(f"/push/{source.token}", data=body, content_type="application/json")

    assert response.status_code == 200
    inbound = InboundEvent.objects.get()
    assert (inbound.status, inbound.merged) == (InboundEvent.Status.PROCESSED, 150)
    assert Incident.objects.get().alert_count == 150
