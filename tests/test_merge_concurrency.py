"""Merges and splits at the same moment, on PostgreSQL: no deadlock surfaces as an error, no
alert is lost or doubled, and every timeline says what happened to its incident."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from oncall import ingest, lifecycle
from oncall.models import ActionSource, Alert, InboundEvent, Incident, TimelineEntry
from oncall.timeline import Actor
from tests import payloads
from tests.concurrency import race
from tests.factories import AlertFactory, AlertSourceFactory, IncidentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 8
Kind = TimelineEntry.Kind


@pytest.fixture
def people(channel):
    alice = UserFactory(username="alice", first_name="Alice")
    bob = UserFactory(username="bob", first_name="Bob")
    channel.members.add(alice, bob)
    return Actor(alice, ActionSource.WEB), Actor(bob, ActionSource.API)


def incident_with_alerts(channel, count: int = 2) -> Incident:
    incident = IncidentFactory(channel=channel, alert_count=count)
    for _ in range(count):
        AlertFactory(incident=incident)
    return incident


def kinds(incident: Incident) -> list[str]:
    return list(incident.timeline.order_by("created_at", "id").values_list("kind", flat=True))


def assert_no_error_but_refusals(results: list) -> None:
    """Every call either did its work or was refused with a reason: no database error
    (a deadlock, a serialisation failure) leaks out."""
    for result in results:
        assert isinstance(result, lifecycle.Outcome | lifecycle.TransitionRefused), result


def test_two_merges_into_one_incident_at_once_both_land(channel, people):
    assert connection.vendor == "postgresql"
    alice, bob = people
    for _ in range(ROUNDS):
        a, b, c = (incident_with_alerts(channel) for _ in range(3))
        alerts = set(Alert.objects.filter(incident__in=[a, b, c]).values_list("pk", flat=True))

        results = race(
            lambda a=a, c=c: lifecycle.merge(c.pk, [a.pk], alice),
            lambda b=b, c=c: lifecycle.merge(c.pk, [b.pk], bob),
        )

        assert all(isinstance(r, lifecycle.Outcome) and r.changed for r in results), results
        c.refresh_from_db()
        assert set(c.alerts.values_list("pk", flat=True)) == alerts
        assert c.alert_count == 6
        assert kinds(c) == [Kind.MERGED, Kind.MERGED]
        for source in (a, b):
            source.refresh_from_db()
            assert (source.status, source.merged_into_id) == (Incident.Status.CLOSED, c.pk)
            assert kinds(source) == [Kind.MERGED_INTO]


def test_merging_two_incidents_into_each_other_at_once_has_one_winner(channel, people):
    alice, bob = people
    for _ in range(ROUNDS):
        a, b = incident_with_alerts(channel), incident_with_alerts(channel)
        alerts = set(Alert.objects.filter(incident__in=[a, b]).values_list("pk", flat=True))

        results = race(
            lambda a=a, b=b: lifecycle.merge(b.pk, [a.pk], alice),
            lambda a=a, b=b: lifecycle.merge(a.pk, [b.pk], bob),
        )

        assert_no_error_but_refusals(results)
        winners = [r for r in results if isinstance(r, lifecycle.Outcome)]
        losers = [r for r in results if isinstance(r, lifecycle.TransitionRefused)]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        target = Incident.objects.get(pk=winners[0].incident.pk)
        merged = b if target.pk == a.pk else a
        assert losers[0].message == (
            f"Cannot merge into #{merged.number}: it was merged into #{target.number}"
        )
        assert set(target.alerts.values_list("pk", flat=True)) == alerts
        assert target.alert_count == 4
        assert kinds(target) == [Kind.MERGED]
        assert kinds(merged) == [Kind.MERGED_INTO]


def test_a_chain_of_merges_at_once_loses_no_alert(channel, people):
    """A into B while B goes into C: whichever runs first, every alert ends in one open
    incident and each incident's timeline tells its part."""
    alice, bob = people
    for _ in range(ROUNDS):
        a, b, c = (incident_with_alerts(channel) for _ in range(3))
        alerts = set(Alert.objects.filter(incident__in=[a, b, c]).values_list("pk", flat=True))

        results = race(
            lambda a=a, b=b: lifecycle.merge(b.pk, [a.pk], alice),
            lambda b=b, c=c: lifecycle.merge(c.pk, [b.pk], bob),
        )

        assert_no_error_but_refusals(results)
        open_incidents = Incident.objects.filter(pk__in=[a.pk, b.pk, c.pk]).exclude(
            status=Incident.Status.CLOSED
        )
        holding = set(
            Alert.objects.filter(incident__in=open_incidents).values_list("pk", flat=True)
        )
        assert holding == alerts
        for incident in Incident.objects.filter(pk__in=[a.pk, b.pk, c.pk]):
            assert incident.alert_count == incident.alerts.count()
            if incident.merged_into_id:
                assert Kind.MERGED_INTO in kinds(incident)


def test_a_split_and_a_merge_of_its_incident_at_once_lose_no_alert(channel, people):
    alice, bob = people
    for _ in range(ROUNDS):
        a, c = incident_with_alerts(channel, 3), incident_with_alerts(channel)
        alerts = set(Alert.objects.filter(incident__in=[a, c]).values_list("pk", flat=True))
        leaving = a.alerts.order_by("pk").first()

        split, merge = race(
            lambda leaving=leaving: lifecycle.split(leaving.pk, alice),
            lambda a=a, c=c: lifecycle.merge(c.pk, [a.pk], bob),
        )

        assert isinstance(split, lifecycle.Outcome), split
        assert isinstance(merge, lifecycle.Outcome), merge
        new = Incident.objects.get(pk=split.incident.pk)
        assert list(new.alerts.values_list("pk", flat=True)) == [leaving.pk]
        c.refresh_from_db()
        assert set(c.alerts.values_list("pk", flat=True)) == alerts - {leaving.pk}
        assert c.alert_count == 4
        # The alert was split from wherever it was at that moment, which says so.
        origin = Incident.objects.get(
            timeline__kind=Kind.SPLIT, timeline__data__split_into=new.number
        )
        assert origin.pk in (a.pk, c.pk)
        assert kinds(new)[0] == Kind.CREATED


def test_an_event_of_an_alert_being_merged_lands_on_the_target_whatever_the_order(
    channel, people, push, monkeypatch
):
    monkeypatch.setattr(ingest, "_enqueue", lambda inbound_id: None)  # processed here, racing
    alice, _ = people
    source = AlertSourceFactory(channel=channel)
    for round_ in range(ROUNDS):
        name = f"Moving{round_}"
        push(source, payloads.alertmanager(payloads.am_alert(name)), process=False)
        ingest.process(InboundEvent.objects.order_by("-pk").first().pk)
        moving = Alert.objects.get(alert_key__startswith=f"fp-{name}-")
        target = incident_with_alerts(channel, 1)
        push(source, payloads.alertmanager(payloads.am_alert(name)), process=False)
        event = InboundEvent.objects.order_by("-pk").first().pk

        results = race(
            lambda e=event: ingest.process(e),
            lambda t=target, m=moving: lifecycle.merge(t.pk, [m.incident_id], alice),
        )

        assert results[0] is True
        assert isinstance(results[1], lifecycle.Outcome), results
        alerts = Alert.objects.filter(alert_key__startswith=f"fp-{name}-")
        assert alerts.count() == 1  # never a second alert for the same identity
        alert = alerts.get()
        assert alert.incident_id == target.pk
        assert alert.event_count == 2
        old = Incident.objects.get(pk=moving.incident_id)
        assert old.status == Incident.Status.CLOSED
        assert kinds(old)[-1] == Kind.MERGED_INTO  # nothing landed on it afterwards


def committed_elsewhere(change) -> None:
    """Run ``change`` on its own connection and commit it, as a concurrent batch would."""
    thread = threading.Thread(target=lambda: (change(), connection.close()))
    thread.start()
    thread.join(timeout=30)


def test_an_alert_committed_before_the_merge_held_its_locks_is_locked_and_moved_too(
    channel, people, monkeypatch
):
    """A batch may commit a new alert of the source between the merge's first read and its
    group locks: the merge must not move an alert whose lock it does not hold, so it starts
    again, and moves that alert too."""
    alice, _ = people
    target, source = incident_with_alerts(channel), incident_with_alerts(channel)
    real = lifecycle._lock_alerts_and_groups
    calls = []

    def lock_while_a_batch_commits(*args, **kwargs):
        names = real(*args, **kwargs)
        calls.append(names)
        if len(calls) == 1:
            committed_elsewhere(lambda: AlertFactory(incident=source, title="arrived meanwhile"))
        return names

    monkeypatch.setattr(lifecycle, "_lock_alerts_and_groups", lock_while_a_batch_commits)

    outcome = lifecycle.merge(target.pk, [source.pk], alice)

    assert len(calls) == 2
    assert "(3 alerts moved)" in outcome.message
    assert Alert.objects.get(title="arrived meanwhile").incident_id == target.pk
    assert kinds(target) == [Kind.MERGED]


def test_an_alert_moved_before_the_split_held_its_locks_is_split_from_where_it_is_now(
    channel, people, monkeypatch
):
    alice, _ = people
    target, source = incident_with_alerts(channel), incident_with_alerts(channel)
    alert = source.alerts.order_by("pk").first()
    real = lifecycle._lock_alerts_and_groups
    calls = []

    def lock_while_a_merge_commits(*args, **kwargs):
        names = real(*args, **kwargs)
        calls.append(names)
        if len(calls) == 1:
            committed_elsewhere(
                lambda: Alert.objects.filter(pk=alert.pk).update(incident_id=target.pk)
            )
        return names

    monkeypatch.setattr(lifecycle, "_lock_alerts_and_groups", lock_while_a_merge_commits)

    outcome = lifecycle.split(alert.pk, alice)

    assert len(calls) == 2
    assert outcome.message.startswith(f"Alert “{alert.title}” split out of #{target.number}")
