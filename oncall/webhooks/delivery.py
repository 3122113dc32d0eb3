"""Sending webhook deliveries: at least once, in sequence order per endpoint and incident,
every attempt recorded.

Order. A delivery goes out only when no earlier delivery (lower sequence) of the same endpoint
and incident is still pending: a later event waits while an earlier one is retried, so a
receiver gets one incident's events exactly in sequence order (deliveries of other incidents
are not held up). When a delivery ends (delivered, or failed for good), the next one of its
chain is handed out at once.

Once. A sender takes a delivery by setting its lease (``leased_until``) in one conditional
UPDATE; a second copy of the task finds it taken or done and does nothing. A sender killed
mid-attempt leaves a lease that runs out, and the sweep sends the delivery again: receivers
deduplicate with ``webhook-id`` (the event id), which is the same on every attempt.

Retries. Network errors, 408, 429 and 5xx are retried after ``WEBHOOK_RETRY_SECONDS`` (an
answer's ``Retry-After``, if longer, wins), 8 attempts over about 20 hours; any other answer
(a 4xx, a redirect, an address the guard refuses) fails the delivery at once. An endpoint whose
every attempt failed for ``WEBHOOK_DISABLE_AFTER_HOURS`` is disabled with a notice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from oncall.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from oncall.models.webhooks import TEST_EVENT_TYPE
from oncall.webhooks import headers as custom_headers
from oncall.webhooks import outbox, payload, sending, signing
from oncall.webhooks.outbox import hand_out_after_commit

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status
# A sender holds a delivery this long: more than one attempt can take.
LEASE = timedelta(seconds=60)
ANSWER_BYTES = 4096
RETRIED_STATUSES = frozenset({408, 429})
USER_AGENT = "oncall-webhooks/1"


@dataclass(frozen=True)
class Result:
    """What one attempt (or not attempting) left: the delivery's status, when it is due
    again if retried, and the next delivery of its chain to hand out."""

    status: str
    retry_at: datetime | None = None
    next_id: int | None = None


@dataclass(frozen=True)
class Answer:
    """One attempt's outcome: the receiver's status and answer, or ``error`` in words, with
    ``refused`` set when the outbound guard refused the address (final: asking again is
    refused again)."""

    status_code: int | None
    body: str
    error: str
    duration_ms: int
    retry_after: timedelta | None = None
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.status_code is None:
            return not self.refused
        return self.status_code in RETRIED_STATUSES or self.status_code >= 500


def send(delivery_id: int, now: datetime | None = None) -> Result | None:
    """One attempt at the delivery, if it is due, free and first in its chain; None when this
    call had nothing to do (done, taken by another sender, not due, or waiting its turn)."""
    now = now or timezone.now()
    if not _take(delivery_id, now):
        return None
    delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(pk=delivery_id)
    if _waits_for_earlier(delivery.pk):
        _release(delivery)
        return None
    endpoint = delivery.endpoint
    if not endpoint.enabled and delivery.event.event_type != TEST_EVENT_TYPE:
        return _finish(delivery, Status.FAILED, now, error="The endpoint is disabled.")
    answer = post(endpoint, delivery.event, now)
    return _record(delivery, answer, now)


def _take(delivery_id: int, now: datetime) -> bool:
    return bool(
        WebhookDelivery.objects.filter(pk=delivery_id, status=Status.PENDING)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True))
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .update(leased_until=now + LEASE)
    )


def _release(delivery: WebhookDelivery) -> None:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(leased_until=None)


def earlier_pending() -> Exists:
    """A condition on deliveries: an earlier one of the same endpoint and incident is pending."""
    return Exists(
        WebhookDelivery.objects.filter(
            endpoint_id=OuterRef("endpoint_id"),
            incident_id=OuterRef("incident_id"),
            sequence__lt=OuterRef("sequence"),
            status=Status.PENDING,
        )
    )


def _waits_for_earlier(delivery_id: int) -> bool:
    return WebhookDelivery.objects.filter(pk=delivery_id).filter(earlier_pending()).exists()


def post(endpoint: WebhookEndpoint, event: WebhookEvent, now: datetime) -> Answer:
    """POST the event's body to the endpoint (``sending.send_signed``), signed afresh."""
    reply = sending.send_signed(
        "POST",
        endpoint.url,
        event.body.encode(),
        custom_headers.outgoing(
            endpoint.headers, {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        ),
        secrets=endpoint.signing_secrets(now),
        message_id=event.event_id,
        answer_bytes=ANSWER_BYTES,
    )
    if reply.refused:
        return Answer(None, "", f"Refused: {reply.refused}", reply.duration_ms, refused=True)
    if reply.status_code is None:
        return Answer(None, "", reply.error, reply.duration_ms)
    retry_after = _retry_after(reply.headers, now)
    return Answer(reply.status_code, reply.text, "", reply.duration_ms, retry_after)


def _retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    value = headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment - now, timedelta(0)) if moment.tzinfo else None


def _record(delivery: WebhookDelivery, answer: Answer, now: datetime) -> Result:
    WebhookAttempt.objects.create(
        delivery=delivery,
        started_at=now,
        duration_ms=answer.duration_ms,
        status_code=answer.status_code,
        response_body=answer.body,
        error=answer.error,
    )
    delivery.attempts += 1
    delivery.last_status_code = answer.status_code
    delivery.last_error = answer.error
    _endpoint_health(delivery.endpoint, answer.ok, now)
    if answer.ok:
        return _finish(delivery, Status.DELIVERED, now)
    delays = settings.WEBHOOK_RETRY_SECONDS
    if not answer.retryable or delivery.attempts > len(delays):
        return _finish(delivery, Status.FAILED, now, error=answer.error)
    delay = timedelta(seconds=delays[delivery.attempts - 1])
    if answer.retry_after is not None:
        delay = max(delay, min(answer.retry_after, timedelta(hours=24)))
    delivery.next_attempt_at = now + delay
    delivery.leased_until = None
    delivery.save(
        update_fields=[
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "leased_until",
        ]
    )
    return Result(Status.PENDING, retry_at=delivery.next_attempt_at)


def _finish(delivery: WebhookDelivery, status: str, now: datetime, *, error: str = "") -> Result:
    delivery.status = status
    delivery.finished_at = now
    delivery.next_attempt_at = None
    delivery.leased_until = None
    if error:
        delivery.last_error = error
    delivery.save(
        update_fields=[
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "finished_at",
            "next_attempt_at",
            "leased_until",
        ]
    )
    return Result(status, next_id=next_in_chain(delivery))


def next_in_chain(delivery: WebhookDelivery) -> int | None:
    """The next pending delivery of the same endpoint and incident, in sequence order."""
    if delivery.incident_id is None:
        return None
    return (
        WebhookDelivery.objects.filter(
            endpoint_id=delivery.endpoint_id,
            incident_id=delivery.incident_id,
            status=Status.PENDING,
        )
        .order_by("sequence", "id")
        .values_list("pk", flat=True)
        .first()
    )


def _endpoint_health(endpoint: WebhookEndpoint, ok: bool, now: datetime) -> None:
    """A success clears the failing streak; a failure starts it or, once it has lasted
    ``WEBHOOK_DISABLE_AFTER_HOURS``, disables the endpoint with a notice."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if ok:
        if endpoint.failing_since is not None:
            endpoints.update(failing_since=None)
        return
    if endpoint.failing_since is None:
        endpoints.filter(failing_since__isnull=True).update(failing_since=now)
        return
    limit = timedelta(hours=settings.WEBHOOK_DISABLE_AFTER_HOURS)
    if endpoint.enabled and now - endpoint.failing_since >= limit:
        reason = (
            f"Disabled automatically on {now:%Y-%m-%d %H:%M} UTC: every delivery failed since "
            f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC. Fix the receiver, then enable the "
            "endpoint again (and send the failed deliveries again if they are needed)."
        )
        endpoints.update(enabled=False, disabled_reason=reason)
        outbox.ANY_ENABLED.changed(WebhookEndpoint)  # no signal for an update()
        logger.warning("webhook endpoint %s disabled after a day of failures", endpoint.pk)


# --- Handing out --------------------------------------------------------------------------------


def chain_heads(delivery_ids: list[int]) -> list[int]:
    """Of these deliveries, those that may go out now: no earlier one of their chain pending."""
    return list(
        WebhookDelivery.objects.filter(pk__in=delivery_ids, status=Status.PENDING)
        .exclude(earlier_pending())
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def due_for_sweep(now: datetime, limit: int) -> list[int]:
    """Pending deliveries overdue by ``WEBHOOK_REQUEUE_SECONDS``, free and first in their
    chain: their task was lost (or the after-commit hand-out never happened)."""
    cutoff = now - timedelta(seconds=settings.WEBHOOK_REQUEUE_SECONDS)
    return list(
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=cutoff)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
        .exclude(earlier_pending())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


# --- Admin and API actions ----------------------------------------------------------------------


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the delivery's event to its endpoint again, as a new delivery (the old one and its
    attempts stay as they were). It keeps the event's sequence: if earlier events of the
    incident are still pending for the endpoint, it waits for them."""
    with transaction.atomic():
        again = WebhookDelivery.objects.create(
            endpoint=delivery.endpoint,
            event=delivery.event,
            incident_id=delivery.incident_id,
            sequence=delivery.sequence,
            next_attempt_at=timezone.now(),
        )
        hand_out_after_commit([again.pk])
    return again


def send_test_event(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a test event for the endpoint (even a disabled one is sent a test: it is how an
    admin checks the receiver before enabling it again)."""
    now = timezone.now()
    event_id = signing.new_message_id()
    with transaction.atomic():
        event = WebhookEvent.objects.create(
            event_id=event_id,
            event_type=TEST_EVENT_TYPE,
            occurred_at=now,
            body=payload.encode(payload.test_body(event_id, now, endpoint.name)),
        )
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint, event=event, next_attempt_at=now
        )
        hand_out_after_commit([delivery.pk])
    return delivery
