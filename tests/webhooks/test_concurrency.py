"""Sequence numbers under real concurrency on PostgreSQL: changes of one incident racing each
other (a note and a claim from two requests) get distinct numbers in the order they commit,
and two senders of one delivery send it once."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from oncall import lifecycle
from oncall.models import ActionSource, WebhookAttempt, WebhookDelivery, WebhookEvent
from oncall.timeline import Actor
from oncall.webhooks import delivery
from tests.concurrency import ROUNDS, race
from tests.factories import IncidentFactory, UserFactory
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_racing_changes_of_one_incident_get_distinct_sequences_in_commit_order(channel, receiver):
    assert connection.vendor == "postgresql"
    alice = UserFactory(username="alice", first_name="Alice")
    channel.members.add(alice)
    actor = Actor(alice, ActionSource.WEB)
    make_endpoint(receiver.url, event_types=["i_ack", "i_comm"])
    for _ in range(ROUNDS):
        incident = IncidentFactory(channel=channel)
        race(
            lambda pk=incident.pk: lifecycle.claim(pk, actor),
            lambda pk=incident.pk: lifecycle.add_note(pk, actor, "looking"),
            lambda pk=incident.pk: lifecycle.add_note(pk, actor, "still looking"),
        )

        events = WebhookEvent.objects.filter(incident=incident).order_by("id")
        sequences = list(events.values_list("sequence", flat=True))
        assert sorted(sequences) == [1, 2, 3]
        # The timeline (written in the same transactions) is in the same order.
        kinds = list(
            incident.timeline.filter(kind__in=["claimed", "note"]).values_list("kind", flat=True)
        )
        by_sequence = [e.event_type for e in events.order_by("sequence")]
        assert by_sequence == ["i_ack" if k == "claimed" else "i_comm" for k in kinds]


def test_two_senders_at_once_send_a_delivery_once(channel):
    with Receiver() as receiver:
        endpoint, _ = make_endpoint(receiver.url)
        for round_ in range(ROUNDS):
            pending = pending_test_delivery(endpoint, round_)
            now = timezone.now()
            race(*[lambda pk=pending.pk, now=now: delivery.send(pk, now)] * 2)
            assert WebhookAttempt.objects.filter(delivery=pending).count() == 1
        assert len(receiver.received) == ROUNDS
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"delivered"}


def pending_test_delivery(endpoint, round_: int) -> WebhookDelivery:
    """A due delivery nobody has handed out yet."""
    event = WebhookEvent.objects.create(
        event_id=f"msg_race_{round_}",
        event_type="test",
        occurred_at=timezone.now(),
        body="{}",
    )
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, next_attempt_at=timezone.now()
    )
