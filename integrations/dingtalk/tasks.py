"""Celery tasks of the DingTalk integration: sending and updating cards, purging receipts.

Only named transient errors are retried (network, 5xx, rate limits), a bounded number of times:
the delivery's own attempt count ends a send's retries (``delivery.MAX_SEND_ATTEMPTS``).
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from integrations.dingtalk import war_rooms
from integrations.dingtalk.cards import delivery
from integrations.dingtalk.client import errors
from integrations.dingtalk.models import EventReceipt

SYNC_MAX_RETRIES = 5
WAR_ROOM_MAX_RETRIES = 5


@shared_task(ignore_result=True)
def purge_event_receipts() -> int:
    """Forget pushes older than ``DINGTALK_EVENT_RECEIPT_RETENTION_DAYS``: by then a copy of
    them is refused for its timestamp (the retention outlives the window, a system check holds
    it), so their receipts protect nothing any more."""
    cutoff = timezone.now() - timedelta(days=settings.DINGTALK_EVENT_RECEIPT_RETENTION_DAYS)
    deleted, _ = EventReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted


@shared_task(bind=True, ignore_result=True, max_retries=delivery.MAX_SEND_ATTEMPTS)
def send_card(self, delivery_id: int, incident_id: int | None = None) -> None:
    """Send the card a delivery is owed (a task per recipient: a level names a few);
    ``incident_id``, its incident (None from a task queued before it was given)."""
    try:
        delivery.send(delivery_id, incident_id)
    except delivery.Paced as paced:
        if self.request.is_eager:
            # Run in place (CELERY_TASK_ALWAYS_EAGER): a task sent again would run at once,
            # and again, with no queue to wait in; a retry at least ends.
            raise self.retry(countdown=paced.countdown) from None
        # A receiver's pacing is a wait, not a failure: sent again, no retry spent.
        again = (delivery_id,) if incident_id is None else (delivery_id, incident_id)
        send_card.apply_async(again, countdown=paced.countdown)
    except delivery.Retry as retry:
        raise self.retry(countdown=retry.countdown) from None


@shared_task(bind=True, ignore_result=True, max_retries=SYNC_MAX_RETRIES)
def sync_cards(self, incident_id: int) -> None:
    """Update every sent copy of the incident's card that is out of date."""
    try:
        delivery.sync(incident_id)
    except delivery.Retry as retry:
        raise self.retry(countdown=retry.countdown) from None


@shared_task(ignore_result=True)
def resend_stalled_cards() -> int:
    """Periodic: hand out again the card sends whose task was lost."""
    return delivery.resend_stalled()


@shared_task(bind=True, ignore_result=True, max_retries=WAR_ROOM_MAX_RETRIES)
def open_war_room(self, room_id: int) -> None:
    """Make a war room's scene group and post the incident's card there."""
    try:
        war_rooms.open_room(room_id)
    except (errors.RateLimited, errors.TransientError) as exc:
        if self.request.retries >= WAR_ROOM_MAX_RETRIES:
            war_rooms.give_up(room_id, exc)
            return
        countdown = getattr(exc, "retry_after", 0) or 2.0 ** (self.request.retries + 1)
        raise self.retry(countdown=countdown) from None


@shared_task(bind=True, ignore_result=True, max_retries=WAR_ROOM_MAX_RETRIES)
def invite_to_war_room(self, room_id: int, user_ids: list[int]) -> None:
    """Add people to an open war room (chosen later, or notified by a later level)."""
    try:
        war_rooms.invite_later(room_id, user_ids)
    except (errors.RateLimited, errors.TransientError) as exc:
        countdown = getattr(exc, "retry_after", 0) or 2.0 ** (self.request.retries + 1)
        raise self.retry(countdown=countdown) from None


@shared_task(ignore_result=True)
def open_stalled_war_rooms() -> int:
    """Periodic: hand out again the war rooms whose opening task was lost."""
    return war_rooms.hand_out_stalled()
