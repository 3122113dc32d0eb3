"""Celery tasks of the Feishu integration: answering messages, syncing chats, purging receipts.

Provider errors are retried only when they are named transient (network, 5xx, rate limits),
a bounded number of times; anything permanent is logged with Feishu's code and dropped.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integrations.chatkit.ratelimit import DatabaseLimiter
from integrations.feishu import PLATFORM_NAME, chats
from integrations.feishu.cards import delivery
from integrations.feishu.client import errors
from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.models import CallbackReceipt, FeishuApp, RateWindow
from oncall import platforms

logger = logging.getLogger(__name__)

MAX_RETRIES = 5


def _backoff(retries: int) -> float:
    return min(2**retries, 60)


@shared_task(bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def answer_message(self, app_id: int, message: dict) -> None:
    """Reply to a message sent to the bot. The reply's uuid is derived from the message, so a
    retried (or twice-delivered) task cannot answer twice."""
    app = FeishuApp.objects.filter(pk=app_id, enabled=True).first()
    if app is None:
        return
    incoming = IncomingMessage(**message)
    text = chat_commands.answer(app, incoming)
    if text is None:
        return  # not for the bot (a group message replying to something else)
    try:
        app.client().reply_text(
            incoming.message_id,
            text,
            uuid=f"reply-{incoming.message_id}"[:50],
            chat_id=incoming.chat_id,
        )
    except errors.RateLimited as exc:
        raise self.retry(countdown=exc.retry_after) from None
    except errors.TransientError as exc:
        raise self.retry(countdown=_backoff(self.request.retries)) from exc
    except errors.FeishuError as exc:
        logger.warning("Feishu app %s: could not answer message: %s", app.pk, exc)


@shared_task(ignore_result=True)
def sync_app_chats(app_id: int) -> None:
    app = FeishuApp.objects.filter(pk=app_id, enabled=True).first()
    if app is None:
        return
    try:
        chats.sync_chats(app)
    except errors.FeishuError as exc:
        # Try again a full period later rather than every minute; "check configuration" in
        # the admin shows the admin why it fails.
        FeishuApp.objects.filter(pk=app.pk).update(chats_synced_at=timezone.now())
        logger.warning("Feishu app %s: chat sync failed: %s", app.pk, exc)


@shared_task(ignore_result=True)
def sync_all_chats() -> int:
    """Periodic: sync the chats of every enabled app not synced for FEISHU_CHAT_SYNC_MINUTES
    (repairs bot events Feishu never delivered)."""
    due = timezone.now() - timedelta(minutes=settings.FEISHU_CHAT_SYNC_MINUTES)
    apps = FeishuApp.objects.filter(enabled=True).filter(
        Q(chats_synced_at__isnull=True) | Q(chats_synced_at__lt=due)
    )
    app_ids = list(apps.values_list("pk", flat=True))
    for app_id in app_ids:
        sync_app_chats.delay(app_id)
    return len(app_ids)


@shared_task(ignore_result=True)
def purge_callback_receipts() -> int:
    cutoff = timezone.now() - timedelta(days=settings.FEISHU_CALLBACK_RECEIPT_RETENTION_DAYS)
    deleted, _ = CallbackReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted


@shared_task(ignore_result=True)
def purge_rate_windows() -> int:
    """Drop the database limiter's windows that ended over an hour ago (Redis expires its own)."""
    cutoff_ms = int((timezone.now() - timedelta(hours=1)).timestamp() * 1000)
    return DatabaseLimiter(RateWindow).purge(cutoff_ms)


@shared_task(ignore_result=True)
def send_cards(delivery_ids: list[int]) -> None:
    """Send the cards of one notification (``delivery.SEND_BATCH_SIZE`` deliveries at most).
    Cards waiting for a rate-limit window that opens later than the task may wait (the app's
    1000/min) are tried again together when the first of those windows opens; a transient
    failure is tried again alone after its backoff. Retries end with the delivery's own
    attempt count (``delivery.MAX_SEND_ATTEMPTS``), which the row keeps."""
    later = delivery.send_many(delivery_ids)
    if later.windows:
        send_cards.apply_async((list(later.windows),), countdown=min(later.windows.values()))
    for delivery_id, countdown in later.backoffs.items():
        send_cards.apply_async(([delivery_id],), countdown=countdown)


@shared_task(ignore_result=True)
def resend_stalled_cards() -> int:
    """Periodic: send again the cards whose task was lost with a worker."""
    return delivery.resend_stalled()


@shared_task(ignore_result=True)
def send_card(delivery_id: int) -> None:
    """One delivery's cards: the task versions before batching queued, still in a broker
    during an upgrade. It sends as ``send_cards`` does."""
    send_cards([delivery_id])


@shared_task(bind=True, ignore_result=True, max_retries=20)
def sync_cards(self, incident_id: int) -> None:
    """Bring every sent copy of the incident's card up to date."""
    try:
        delivery.sync(incident_id)
    except delivery.Retry as retry:
        raise self.retry(countdown=retry.countdown) from None


@shared_task(bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def send_notice(self, app_id: int, open_id: str, text: str, uuid: str) -> None:
    """A notice in words (``FeishuPlatform.send_notice``: a shift about to start) to one
    person's linked account. The ``uuid`` is the notice's, so a retried (or twice-delivered)
    task posts once; transient failures are retried with backoff, permanent ones logged."""
    app = FeishuApp.objects.filter(pk=app_id, enabled=True).first()
    if app is None:
        platforms.notifications_failed(PLATFORM_NAME, "app_disabled")
        return
    client = app.client()
    try:
        client.send_text("open_id", open_id, text, uuid)
    except errors.RateLimited as exc:
        raise self.retry(countdown=exc.retry_after) from None
    except errors.TransientError as exc:
        if self.request.retries >= MAX_RETRIES:
            _notice_failed(app, exc)
            return
        platforms.notification_retried(PLATFORM_NAME, delivery.failure_reason(exc))
        raise self.retry(countdown=_backoff(self.request.retries)) from exc
    except errors.FeishuError as exc:
        _notice_failed(app, exc)
        return
    finally:
        client.session.close()
    platforms.notifications_sent(PLATFORM_NAME)


def _notice_failed(app: FeishuApp, exc: errors.FeishuError) -> None:
    platforms.notifications_failed(PLATFORM_NAME, delivery.failure_reason(exc))
    logger.warning("Feishu app %s: notice not delivered: %s", app.pk, exc)


# --- War rooms ------------------------------------------------------------------------------


@shared_task(bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def open_war_room(self, room_id: int) -> None:
    """Create a war room's chat, invite its members and post its card (``war_rooms``).
    Transient failures are retried with backoff (the uuid keeps it one chat); after the last
    one the room is recorded as failed, so that it can be asked for again."""
    from integrations.feishu import war_rooms

    try:
        war_rooms.open_room(room_id)
    except errors.RateLimited as exc:
        raise self.retry(countdown=exc.retry_after) from None
    except errors.TransientError as exc:
        if self.request.retries >= MAX_RETRIES:
            war_rooms.give_up(room_id, exc)
            return
        raise self.retry(countdown=_backoff(self.request.retries)) from exc


# A card is usually sent within a second or two of its room opening.
PIN_RETRIES = 10


@shared_task(bind=True, ignore_result=True, max_retries=PIN_RETRIES)
def pin_war_room_card(self, room_id: int) -> None:
    """Pin a war room's card once it is sent. A pin this task gives up on (the card still on
    its way after its retries) is not lost: the minute's sweep hands the room out again."""
    from integrations.feishu import war_rooms

    try:
        war_rooms.pin_card(room_id)
    except war_rooms.CardNotSentYet:
        if self.request.retries < PIN_RETRIES:
            raise self.retry(countdown=2) from None
        logger.info("war room %s: card not sent yet; the sweep will pin it", room_id)
    except errors.RateLimited as exc:
        raise self.retry(countdown=exc.retry_after) from None
    except errors.TransientError as exc:
        raise self.retry(countdown=_backoff(self.request.retries)) from exc


@shared_task(bind=True, ignore_result=True, max_retries=MAX_RETRIES)
def invite_to_war_room(self, room_id: int, user_ids: list[int]) -> None:
    """Invite people to an open war room (chosen later, or notified by a later level)."""
    from integrations.feishu import war_rooms

    try:
        war_rooms.invite_later(room_id, user_ids)
    except errors.RateLimited as exc:
        raise self.retry(countdown=exc.retry_after) from None
    except errors.TransientError as exc:
        raise self.retry(countdown=_backoff(self.request.retries)) from exc
    except errors.FeishuError as exc:
        logger.warning("war room %s: invitation failed: %s", room_id, exc)


@shared_task(ignore_result=True)
def hand_out_stalled_war_rooms() -> int:
    """Periodic: open again the war rooms whose task was lost with a worker, and pin the cards
    whose pinning was given up or lost."""
    from integrations.feishu import war_rooms

    return war_rooms.hand_out_stalled()
