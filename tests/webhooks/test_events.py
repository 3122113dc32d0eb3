"""Which events are sent, how, and in what order: a receiver verifying with the
``standardwebhooks`` library gets each event once, in sequence order per incident."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import transaction
from django.db.models import F

from oncall import ingest, lifecycle
from oncall.models import InboundEvent, WebhookDelivery, WebhookEvent
from oncall.timeline import Actor
from oncall.webhooks import tasks
from tests import payloads
from tests.webhooks.conftest import make_endpoint

ALL_INCIDENT_AND_ALERT_TYPES = {
    "i_new",
    "a_new",
    "i_assign",
    "a_update",
    "i_ack",
    "i_unack",
    "i_snooze",
    "i_wake",
    "i_comm",
    "a_rslv",
    "i_rslv",
    "i_reopen",
}


def fire(push, source, status: str = "firing") -> None:
    response = push(source, payloads.alertmanager(payloads.am_alert(status=status)))
    assert response.status_code in (200, 202)


def live(actor_user, django_capture_on_commit_callbacks, change, *args):
    """Run a lifecycle change as a request would: committed, its after-commit work done."""
    with django_capture_on_commit_callbacks(execute=True):
        return change(*args)


def test_a_receiver_gets_every_event_type_once_in_sequence_order(
    push, source, endpoint, receiver, responder, django_capture_on_commit_callbacks
):
    source.channel.auto_close = True
    source.channel.save()
    alice = Actor(responder, "web")
    fire(push, source)  # i_new, a_new, and level 1 notified: i_assign
    fire(push, source)  # a_update (a repeat)
    incident = source.channel.incidents.get()
    run = django_capture_on_commit_callbacks
    live(responder, run, lifecycle.claim, incident, alice)
    live(responder, run, lifecycle.unclaim, incident, alice)
    live(responder, run, lifecycle.snooze, incident, alice, timedelta(minutes=30))
    live(responder, run, lifecycle.wake, incident, alice)
    live(responder, run, lifecycle.add_note, incident, alice, "Rolling back the release")
    fire(push, source, "resolved")  # a_rslv, then i_rslv (every alert recovered)
    live(responder, run, lifecycle.reopen, incident, alice)

    events = receiver.accepted()
    types = [e["event_type"] for e in events if e["event_type"] != "i_assign"]
    assert Counter(types) == Counter(ALL_INCIDENT_AND_ALERT_TYPES - {"i_assign"})
    assert "i_assign" in {e["event_type"] for e in events}
    assert types.index("i_new") < types.index("a_new") < types.index("a_update")
    assert types.index("a_rslv") < types.index("i_rslv") < types.index("i_reopen")
    sequences = [e["sequence"] for e in events]
    assert sequences == list(range(1, len(events) + 1))
    assert len({e["event_id"] for e in events}) == len(events)
    assert all(r.verified_with == receiver.secrets for r in receiver.received)


def test_the_body_names_the_incident_its_alerts_and_who_acted(
    push, source, endpoint, receiver, responder, django_capture_on_commit_callbacks
):
    fire(push, source)
    incident = source.channel.incidents.get()
    live(
        responder,
        django_capture_on_commit_callbacks,
        lifecycle.claim,
        incident,
        Actor(responder, "web"),
    )

    claimed = next(e for e in receiver.accepted() if e["event_type"] == "i_ack")
    body = claimed["incident"]
    assert body["incident_id"] == str(incident.public_id)
    assert body["number"] == incident.number
    assert body["progress"] == "acknowledged"
    assert body["incident_severity"] == "critical"
    assert body["channel_name"] == source.channel.name
    assert body["claimer"]["person_name"] == "Alice"
    assert body["detail_url"].endswith(f"/incidents/{incident.public_id}/")
    assert body["ack_time"] > 0
    assert [a["alert_key"] for a in body["alerts"]] == [incident.alerts.get().alert_key]
    assert body["alerts"][0]["labels"]["alertname"] == "HighLatency"
    assert claimed["person"]["person_name"] == "Alice"
    new_alert = next(e for e in receiver.accepted() if e["event_type"] == "a_new")
    assert new_alert["alert"]["alert_status"] == "firing"
    assert new_alert["alert"]["data_source_name"] == source.name
    assert "alerts" not in new_alert["incident"]


def test_an_endpoint_gets_only_the_event_types_and_channels_it_chose(
    push, source, receiver, responder, django_capture_on_commit_callbacks
):
    chosen, secret = make_endpoint(receiver.url, event_types=["i_new"])
    elsewhere, _ = make_endpoint(receiver.url, name="Elsewhere", all_channels=False)
    receiver.secrets.append(secret)

    fire(push, source)

    assert [e["event_type"] for e in receiver.accepted()] == ["i_new"]
    assert not WebhookDelivery.objects.filter(endpoint=elsewhere).exists()
    assert chosen.deliveries.get().status == "delivered"


def test_nothing_is_written_without_an_enabled_endpoint(push, source, receiver):
    make_endpoint(receiver.url, enabled=False)

    fire(push, source)

    assert not WebhookEvent.objects.exists()
    assert receiver.received == []


def test_events_are_written_in_the_changes_transaction_and_rolled_back_with_it(
    source, endpoint, receiver, responder, push
):
    fire(push, source)
    incident = source.channel.incidents.get()
    before = WebhookEvent.objects.count()

    written = []

    def claim_then_fail() -> None:
        with transaction.atomic():
            lifecycle.claim(incident, Actor(responder, "web"))
            written.append(WebhookEvent.objects.count())
            raise RuntimeError("the request failed after the claim")

    with pytest.raises(RuntimeError):
        claim_then_fail()

    assert written == [before + 1]
    assert WebhookEvent.objects.count() == before


def test_a_lost_hand_out_is_sent_by_the_sweep_once(
    source, endpoint, receiver, responder, push, django_capture_on_commit_callbacks
):
    """The after-commit task is lost (the callbacks are not run): the rows written with the
    change are enough. The sweep leaves them while their task may still come, then hands out
    each chain's first, whose sending hands out the next; a second sweep finds nothing."""
    push(source, payloads.alertmanager(payloads.am_alert()), process=False)
    with django_capture_on_commit_callbacks(execute=False):
        ingest.process(InboundEvent.objects.get().pk)
    pending = WebhookDelivery.objects.filter(status="pending")
    assert pending.count() == 2
    assert tasks.sweep_deliveries() == 0  # not overdue yet: the hand-out may still come
    assert receiver.received == []

    lost_for = timedelta(seconds=settings.WEBHOOK_REQUEUE_SECONDS + 1)
    pending.update(next_attempt_at=F("next_attempt_at") - lost_for)
    handed_out = tasks.sweep_deliveries()

    assert handed_out == 1  # the incident's first event; the second waits its turn, then goes
    assert [e["event_type"] for e in receiver.accepted()] == ["i_new", "a_new"]
    assert not pending.exists()
    assert tasks.sweep_deliveries() == 0
    assert len(receiver.received) == 2
