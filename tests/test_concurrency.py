"""Real concurrency on PostgreSQL: row locks make simultaneous requests give one result."""

from __future__ import annotations

import pytest
from django.db import connection

from oncall import ingest, lifecycle
from oncall.models import ActionSource, Alert, InboundEvent, Incident, TimelineEntry
from oncall.timeline import Actor
from tests import payloads
from tests.concurrency import ROUNDS, race
from tests.factories import AlertSourceFactory, IncidentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(channel):
    alice = UserFactory(username="alice", first_name="Alice")
    bob = UserFactory(username="bob", first_name="Bob")
    channel.members.add(alice, bob)
    return Actor(alice, ActionSource.WEB), Actor(bob, ActionSource.API)


def test_two_simultaneous_claims_have_one_winner_and_the_loser_learns_who(channel, people):
    assert connection.vendor == "postgresql"
    alice, bob = people
    for _ in range(ROUNDS):
        incident = IncidentFactory(channel=channel)
        results = race(
            lambda pk=incident.pk: lifecycle.claim(pk, alice),
            lambda pk=incident.pk: lifecycle.claim(pk, bob),
        )

        winners = [r for r in results if isinstance(r, lifecycle.Outcome)]
        losers = [r for r in results if isinstance(r, lifecycle.TransitionRefused)]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        incident.refresh_from_db()
        winner_name = "Alice" if incident.claimed_by == alice.user else "Bob"
        assert losers[0].message.startswith(f"Already claimed by {winner_name} at ")
        assert incident.timeline.filter(kind=TimelineEntry.Kind.CLAIMED).count() == 1


def test_a_simultaneous_claim_and_close_end_closed_with_a_consistent_timeline(channel, people):
    alice, bob = people
    for _ in range(ROUNDS):
        incident = IncidentFactory(channel=channel)
        claim, close = race(
            lambda pk=incident.pk: lifecycle.claim(pk, alice),
            lambda pk=incident.pk: lifecycle.close(pk, bob),
        )

        incident.refresh_from_db()
        assert incident.status == Incident.Status.CLOSED
        assert isinstance(close, lifecycle.Outcome)
        assert close.changed
        kinds = list(incident.timeline.values_list("kind", flat=True))
        if isinstance(claim, lifecycle.TransitionRefused):  # the close won the race
            assert claim.message.startswith("Cannot claim: already closed by Bob")
            assert kinds == ["closed"]
        else:
            assert kinds == ["claimed", "closed"]


def test_two_batches_for_one_alert_processed_at_once_merge_into_one_alert(
    channel, push, monkeypatch
):
    monkeypatch.setattr(ingest, "_enqueue", lambda inbound_id: None)  # process them here, racing
    source = AlertSourceFactory(channel=channel)
    for _ in range(2):
        push(source, payloads.alertmanager(payloads.am_alert("Race")), process=False)
    first, second = InboundEvent.objects.order_by("pk").values_list("pk", flat=True)

    results = race(lambda: ingest.process(first), lambda: ingest.process(second))

    assert results == [True, True]
    alert = Alert.objects.get()
    assert alert.event_count == 2
    assert Incident.objects.get().alert_count == 1


def test_two_batches_for_one_group_processed_at_once_open_one_incident(channel, push, monkeypatch):
    monkeypatch.setattr(ingest, "_enqueue", lambda inbound_id: None)
    channel.group_by_labels = ["cluster"]
    channel.save()
    source = AlertSourceFactory(channel=channel)
    for _round in range(ROUNDS):
        InboundEvent.objects.all().delete()
        names = [f"A{_round}", f"B{_round}"]
        for name in names:  # two different alerts of one group, in two batches
            push(
                source,
                payloads.alertmanager(payloads.am_alert(name, cluster=f"c{_round}")),
                process=False,
            )
        first, second = InboundEvent.objects.order_by("pk").values_list("pk", flat=True)

        assert race(lambda a=first: ingest.process(a), lambda b=second: ingest.process(b)) == [
            True,
            True,
        ]
        incident = Incident.objects.get(alerts__alert_key__startswith=f"fp-{names[0]}-")
        assert incident.alerts.count() == 2
        assert incident.alert_count == 2


def test_a_recovery_racing_a_new_alert_of_the_group_never_closes_over_a_firing_alert(
    channel, push, monkeypatch
):
    monkeypatch.setattr(ingest, "_enqueue", lambda inbound_id: None)
    channel.group_by_labels = ["cluster"]
    channel.save()
    source = AlertSourceFactory(channel=channel)
    for _round in range(ROUNDS):
        cluster = f"r{_round}"
        push(
            source, payloads.alertmanager(payloads.am_alert("Old", cluster=cluster)), process=False
        )
        ingest.process(InboundEvent.objects.order_by("-pk").first().pk)
        push(
            source,
            payloads.alertmanager(payloads.am_alert("Old", cluster=cluster, status="resolved")),
            process=False,
        )
        push(
            source, payloads.alertmanager(payloads.am_alert("New", cluster=cluster)), process=False
        )
        resolve, fire = InboundEvent.objects.order_by("-pk").values_list("pk", flat=True)[:2][::-1]

        race(lambda a=resolve: ingest.process(a), lambda b=fire: ingest.process(b))

        new = Alert.objects.get(alert_key__startswith="fp-New-", labels__cluster=cluster)
        # Either New joined before the recovery (incident stays open) or after the close (its
        # own new incident): never a firing alert inside a closed incident.
        assert new.incident.status != Incident.Status.CLOSED
