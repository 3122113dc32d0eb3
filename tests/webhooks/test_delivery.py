"""Delivering at least once, visibly: retries with backoff (Retry-After honoured), final
failures, a dead receiver that holds nothing else up, an endpoint disabled after a day of
failures, and a secret's rotation overlap."""

from __future__ import annotations

import socket
from collections import Counter
from datetime import timedelta

from django.utils import timezone
from standardwebhooks import Webhook

from oncall.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from oncall.webhooks import delivery, endpoints
from tests import payloads
from tests.stub_platform.platform import NOTIFIED_LEVELS
from tests.webhooks.conftest import make_endpoint, run_due, run_until_settled
from tests.webhooks.receiver import Receiver


def fire(push, source, name: str = "HighLatency", status: str = "firing") -> None:
    push(source, payloads.alertmanager(payloads.am_alert(name, status=status)))


def dead_url() -> str:
    """A loopback port nobody listens on: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hooks"


def failing_then_ok(failures: int, status: int = 500):
    def answer(number: int) -> tuple[int, dict[str, str]]:
        return (status, {}) if number <= failures else (200, {})

    return answer


def test_a_receiver_failing_for_a_while_then_answering_gets_everything_once_in_order(push, source):
    with Receiver(answer=failing_then_ok(3)) as receiver:
        _, secret = make_endpoint(receiver.url)
        receiver.secrets.append(secret)
        fire(push, source)
        fire(push, source, "DiskFull")
        run_until_settled()

    events = receiver.accepted()
    assert Counter(e["event_id"] for e in events).most_common(1)[0][1] == 1
    assert len(events) == WebhookDelivery.objects.count()
    assert WebhookDelivery.objects.exclude(status="delivered").count() == 0
    for incident_events in _by_incident(events).values():
        sequences = [e["sequence"] for e in incident_events]
        assert sequences == sorted(sequences)
    assert all(r.verified_with == [secret] for r in receiver.received)
    codes = list(WebhookAttempt.objects.order_by("id").values_list("status_code", flat=True))
    assert codes[:3] == [500, 500, 500]
    assert codes[3:] == [200] * (len(codes) - 3)


def _by_incident(events: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for event in events:
        grouped.setdefault(event["incident"]["incident_id"], []).append(event)
    return grouped


def test_a_later_event_waits_while_an_earlier_one_of_its_incident_is_retried(push, source):
    with Receiver(answer=failing_then_ok(1)) as receiver:
        make_endpoint(receiver.url)
        fire(push, source)

        first = receiver.received[0].event
        assert first["event_type"] == "i_new"
        assert len(receiver.received) == 1  # a_new waits for i_new's retry
        run_until_settled()

    assert [e["sequence"] for e in receiver.accepted()] == [1, 2, 3]


def test_retry_after_of_a_429_is_honoured(push, source, settings):
    answers = lambda number: (429, {"Retry-After": "7200"})  # noqa: E731
    with Receiver(answer=answers) as receiver:
        make_endpoint(receiver.url, event_types=["i_new"])
        before = timezone.now()
        fire(push, source)

    pending = WebhookDelivery.objects.get()
    assert pending.status == "pending"
    assert pending.last_status_code == 429
    assert pending.next_attempt_at >= before + timedelta(seconds=7200)


def test_a_client_error_is_final_and_recorded(push, source):
    with Receiver(answer=lambda number: (422, {})) as receiver:
        make_endpoint(receiver.url, event_types=["i_new"])
        fire(push, source)

    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed"
    assert failed.attempts == 1
    attempt = failed.tries.get()
    assert attempt.status_code == 422
    assert attempt.response_body == "ok"
    assert len(receiver.received) == 1


def test_408_and_5xx_are_retried(push, source):
    answers = iter([408, 503, 200])
    with Receiver(answer=lambda number: (next(answers), {})) as receiver:
        make_endpoint(receiver.url, event_types=["i_new"])
        fire(push, source)
        run_until_settled()

    sent = WebhookDelivery.objects.get()
    assert sent.status == "delivered"
    assert list(sent.tries.values_list("status_code", flat=True)) == [408, 503, 200]


def test_a_dead_receiver_is_retried_then_failed_while_ingestion_and_notifications_run_on(
    push, source, recording_platform, responder, settings
):
    make_endpoint(dead_url())

    for index in range(5):
        fire(push, source, f"Alert{index}")

    # Ingestion and escalation did not wait for the receiver.
    assert source.channel.incidents.count() == 5
    assert len(NOTIFIED_LEVELS) == 5
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}

    end = run_until_settled(timedelta(days=3))

    tries = len(settings.WEBHOOK_RETRY_SECONDS) + 1
    heads = WebhookDelivery.objects.filter(sequence=1)
    assert {d.attempts for d in heads} == {tries}
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"failed"}
    assert "the connection" in WebhookAttempt.objects.first().error
    assert end - timezone.now() > timedelta(hours=12)  # backed off over most of a day


def test_an_endpoint_failing_for_a_day_is_disabled_with_a_notice(push, source):
    dead, _ = make_endpoint(dead_url())
    fire(push, source)
    run_until_settled(timedelta(days=3))

    dead.refresh_from_db()
    assert dead.enabled is False
    assert "every delivery failed since" in dead.disabled_reason

    # Enabled again by an admin (API or admin form): the notice goes.
    endpoints.enable(dead)
    dead.enabled = True
    dead.save()
    assert WebhookEndpoint.objects.get().disabled_reason == ""


def test_a_success_ends_the_failing_streak(push, source):
    with Receiver(answer=failing_then_ok(1)) as receiver:
        endpoint, _ = make_endpoint(receiver.url, event_types=["i_new"])
        fire(push, source)
        assert WebhookEndpoint.objects.get().failing_since is not None
        run_until_settled()

    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is None


def test_a_redirect_is_refused_and_final(push, source):
    answers = lambda number: (302, {"Location": "http://169.254.169.254/latest/"})  # noqa: E731
    with Receiver(answer=answers) as receiver:
        make_endpoint(receiver.url, event_types=["i_new"])
        fire(push, source)

    failed = WebhookDelivery.objects.get()
    assert failed.status == "failed"
    assert "does not follow redirects" in failed.last_error
    assert len(receiver.received) == 1


def test_a_delivery_is_sent_once_by_two_senders(push, source, django_capture_on_commit_callbacks):
    with Receiver() as receiver:
        make_endpoint(receiver.url, event_types=["i_new"])
        push(source, payloads.alertmanager(payloads.am_alert()), process=False)
        from oncall import ingest
        from oncall.models import InboundEvent

        with django_capture_on_commit_callbacks(execute=False):
            ingest.process(InboundEvent.objects.get().pk)
        pending = WebhookDelivery.objects.get()
        now = timezone.now()
        assert delivery._take(pending.pk, now)  # another sender holds it
        assert delivery.send(pending.pk, now) is None
        assert receiver.received == []
        run_due(now + delivery.LEASE + timedelta(seconds=1))  # that sender was lost

    assert len(receiver.received) == 1


def test_rotation_keeps_old_receivers_working_during_the_overlap(push, source, settings):
    settings.WEBHOOK_SECRET_OVERLAP_HOURS = 24
    with Receiver() as receiver:
        endpoint, old = make_endpoint(receiver.url, event_types=["i_new"])
        new = endpoint.rotate_secret()
        receiver.secrets = [old, new]
        fire(push, source, "First")

        assert receiver.received[-1].verified_with == [old, new]

        # Past the overlap only the new secret signs.
        endpoint.refresh_from_db()
        event = WebhookDelivery.objects.get().event
        later = endpoint.previous_secret_until + timedelta(seconds=1)
        answer = delivery.post(endpoint, event, later)
    assert answer.ok
    last = receiver.received[-1]
    assert Webhook(new).verify(last.body, last.headers)
    assert last.verified_with == [new]


def test_a_test_event_reaches_even_a_disabled_endpoint(
    receiver, django_capture_on_commit_callbacks
):
    endpoint, secret = make_endpoint(receiver.url, enabled=False)
    receiver.secrets.append(secret)

    with django_capture_on_commit_callbacks(execute=True):
        sent = delivery.send_test_event(endpoint)

    sent.refresh_from_db()
    assert sent.status == "delivered"
    assert receiver.accepted()[0]["event_type"] == "test"
    assert receiver.received[0].verified_with == [secret]


def test_send_again_makes_a_new_delivery_of_the_same_event(
    push, source, django_capture_on_commit_callbacks
):
    with Receiver(answer=failing_then_ok(1, status=400)) as receiver:
        make_endpoint(receiver.url, event_types=["i_new"])
        fire(push, source)
        failed = WebhookDelivery.objects.get()
        assert failed.status == "failed"

        with django_capture_on_commit_callbacks(execute=True):
            again = delivery.redeliver(failed)

    again.refresh_from_db()
    assert again.status == "delivered"
    assert again.event_id == failed.event_id
    assert [r.event["event_id"] for r in receiver.received] == [failed.event.event_id] * 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_custom_headers_are_sent_and_stored_encrypted(receiver, django_capture_on_commit_callbacks):
    from django.db import connection

    endpoint, _ = make_endpoint(receiver.url)
    endpoint.headers = {"Authorization": "Bearer s3cret-token"}
    endpoint.save()

    with django_capture_on_commit_callbacks(execute=True):
        delivery.send_test_event(endpoint)

    assert receiver.received[0].headers["Authorization"] == "Bearer s3cret-token"
    with connection.cursor() as cursor:
        cursor.execute("SELECT headers_json, secret FROM oncall_webhookendpoint")
        stored = " ".join(cursor.fetchone())
    assert "s3cret-token" not in stored
    assert "whsec_" not in stored
