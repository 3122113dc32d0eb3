"""Delivering incident cards through a Feishu app, and keeping every sent copy current.

* ``notify(incident, app, users, chats, ...)`` is what escalation calls: it asks for one more
  notification per recipient (a ``CardDelivery`` row each) and hands the sending to tasks. A
  person without a linked account for the app, or a chat the bot is not in, is recorded on the
  timeline instead (the setup guide's FAQ: "app not linked").
* ``send(delivery_id)`` sends what was asked for: the current card, once, however many
  notifications were asked for since the last send (a person refused three times as "app not
  linked" who then links gets one card, not four). The message carries the uuid
  ``oncall-<delivery>-<n>``, ``n`` the notification it answers, which Feishu delivers at most
  once per hour, so a send retried after a crash, or run twice, posts once. No transaction is
  open during the HTTP call (the embedded run's SQLite would block the sandbox answering it).
* Every message sent is a ``SentCard`` row, written in the step that records the send, with
  the fingerprint of the card it shows; the recipient's older copies are superseded in the
  same step (``supersede``): one current card per recipient and incident.
* ``sync(incident_id)`` patches every sent copy of the card with the incident's current state:
  the copies whose fingerprint differs from the current card's (one query), except cards older
  than Feishu's 14 days; a superseded copy gets the short card once and nothing after.
  ``schedule_sync`` coalesces bursts: changes within a second give each card one update.
* ``record_shown(app, message_id, card)``: a card click's answer replaces the clicked copy, so
  the sync that follows the click leaves that copy alone while it still shows the current card.

The cache holds no correctness: "this incident has a sent card" and "a sync is planned" only
spare queries and tasks. Flushed, a change asks the database and may plan one sync more, which
finds the copies current and patches nothing.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from integrations.chatkit import deliveries
from integrations.feishu import PLATFORM_NAME, budget, escalation_targets
from integrations.feishu.cards import render_cache, supersede
from integrations.feishu.cards.render import card_fingerprint as fingerprint
from integrations.feishu.chats import record_gone
from integrations.feishu.client import errors
from integrations.feishu.client.open_api import FeishuClient, pooled_session
from integrations.feishu.models import (
    CardDelivery,
    FeishuApp,
    FeishuChat,
    LinkedAccount,
    SentCard,
)
from integrations.feishu.timeline_words import feishu_phrase
from oncall import platforms
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor, display_name, record
from oncall.timeline_messages import Phrase

logger = logging.getLogger(__name__)

State = CardDelivery.State
Kind = TimelineEntry.Kind
# Feishu refuses to update a card older than this (code 230031); stop a little before.
CARD_UPDATE_WINDOW = timedelta(days=14) - timedelta(minutes=10)
SYNC_DELAY_SECONDS = 1.0
# A planned sync holds off the others this long: until it is due, and a little after. A sync
# task lost with a killed worker must not hold them off for long, or the changes it was meant
# to carry (a claim, say) never reach the cards. A sync that only runs late meets a second
# one, which finds the copies already current.
SYNC_PLANNED_SECONDS = int(SYNC_DELAY_SECONDS) + 3
# How long "this incident has a sent card" is kept (it never stops being true; this only bounds
# what the cache holds for incidents nobody changes any more).
CARDS_SENT_SECONDS = 24 * 3600
# How long "no card of this incident was sent yet" is kept (``_has_sent_cards``): a bound on
# what the cache holds, and on how long a lost mark could hide a sent card from the syncs.
NO_CARDS_SENT_SECONDS = 60
MAX_SEND_ATTEMPTS = 8


class Retry(Exception):
    """Try again after ``countdown`` seconds (a task reschedules itself); ``rate_limited``
    when a rate limit said so, rather than a failure."""

    def __init__(self, countdown: float, reason: str, *, rate_limited: bool = False):
        super().__init__(reason)
        self.countdown = countdown
        self.rate_limited = rate_limited


# --- Asking for notifications -------------------------------------------------------------------


@dataclass(frozen=True)
class Notified:
    """What ``notify`` did: deliveries to send, and recipients it could not reach."""

    delivery_ids: list[int]
    unreachable: list[str]


@transaction.atomic
def notify(
    incident: Incident,
    app: FeishuApp,
    users: Iterable[Any],
    chats: Iterable[FeishuChat],
) -> Notified:
    """One more notification of ``incident`` for each recipient; sends after commit."""
    users, chats = list(users), list(chats)
    unlinked = {user.pk for user in escalation_targets.not_linked(app, users)}
    rows = _request(incident, app, users, chats)
    to_send: list[int] = []
    unreachable: list[str] = []
    refused: list[tuple[CardDelivery, State, Phrase]] = []
    for user in users:
        delivery = rows[("user", user.pk)]
        if user.pk not in unlinked:
            to_send.append(delivery.pk)
        else:
            unreachable.append(platforms.person_name(user))
            refused.append((delivery, State.NOT_LINKED, _not_linked_message(user, app)))
    for chat in chats:
        delivery = rows[("chat", chat.pk)]
        if chat.usable:
            to_send.append(delivery.pk)
        else:
            unreachable.append(str(chat))
            refused.append((delivery, State.BOT_NOT_IN_CHAT, _chat_gone(chat)))
    _refuse(incident, refused)
    if to_send:
        transaction.on_commit(lambda: _enqueue_sends(to_send))
    return Notified(to_send, unreachable)


def _request(
    incident: Incident, app: FeishuApp, users: list[Any], chats: list[FeishuChat]
) -> dict[tuple[str, int], CardDelivery]:
    """One more notification asked of each recipient's delivery (made when missing), in
    three queries however many recipients: a level of ten people used to take fifty."""
    return deliveries.request(CardDelivery, incident, app, users, chats, group_field="chat")


def _refuse(incident: Incident, refused: list[tuple[CardDelivery, State, Phrase]]) -> None:
    """Record why recipients get nothing (``chatkit.deliveries.refuse``)."""
    deliveries.refuse(CardDelivery, PLATFORM_NAME, incident, refused, stamp=True)


def _not_linked_message(user: Any, app: FeishuApp) -> Phrase:
    return feishu_phrase(
        "feishu.not_linked", person=display_name(user), app=str(app), url=app.web_url
    )


def _chat_gone(chat: FeishuChat) -> Phrase:
    if chat.status == FeishuChat.Status.DISBANDED:
        return feishu_phrase("feishu.chat_disbanded", chat=str(chat))
    return feishu_phrase("feishu.bot_not_in_chat", chat=str(chat))


# The cards of one notification go out from tasks of this many deliveries each (a level of ten
# people: one task). A task per card spent more CPU on Celery than on the card.
SEND_BATCH_SIZE = 10


def _enqueue_sends(delivery_ids: Sequence[int]) -> None:
    from integrations.feishu.tasks import send_cards

    ids = list(delivery_ids)
    for start in range(0, len(ids), SEND_BATCH_SIZE):
        send_cards.delay(ids[start : start + SEND_BATCH_SIZE])


# --- Sending ----------------------------------------------------------------------------------


# A task waits this long at most for the console's own rate limits, then is rescheduled: a
# worker process sleeping through an exhausted minute would stall every other task.
TASK_MAX_WAIT_SECONDS = 2.0


@dataclass
class Later:
    """What ``send_many`` leaves to try again, by delivery id, with the seconds to wait:
    ``windows``, rate-limit windows closed past ``TASK_MAX_WAIT_SECONDS`` (such as the app's
    1000/min), worth one task for them all; ``backoffs``, each transient failure's own."""

    windows: dict[int, float] = field(default_factory=dict)
    backoffs: dict[int, float] = field(default_factory=dict)


def send_many(
    delivery_ids: Sequence[int],
    *,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Later:
    """Send what each delivery is owed; returns what is left to try again later.

    A send that meets a closed window (the app's 50/s or 1000/min, its receiver's 5/s, or
    Feishu's own 99991400) is set aside while the others go, and tried again when that window
    opens: the task sleeps only when everything left is waiting, until the first window opens.
    Sleeping in the limiter instead, one receiver's full second held the whole task."""
    owed = _owed(delivery_ids)
    ready = deque(owed[pk] for pk in dict.fromkeys(delivery_ids) if pk in owed)
    waiting: list[tuple[float, int]] = []  # (when it may go, pk): a heap
    later = Later()
    clients: dict[int, FeishuClient] = {}
    held: dict[int, render_cache.Rendered] = {}
    deadline = clock() + TASK_MAX_WAIT_SECONDS
    while ready or waiting:
        if not ready:
            when = waiting[0][0]
            if when > deadline:
                later.windows.update((pk, max(0.0, at - clock())) for at, pk in waiting)
                break
            sleep(max(0.0, when - clock()))
            ready.append(owed[heapq.heappop(waiting)[1]])
            continue
        delivery = ready.popleft()
        if delivery.app_id not in clients:
            # max_wait=0: the limiter answers "not now" at once instead of sleeping.
            clients[delivery.app_id] = _client(delivery.app, max_wait=0)
        try:
            _send_owed(delivery, clients[delivery.app_id], held)
        except Retry as retry:
            if retry.rate_limited:
                heapq.heappush(waiting, (clock() + retry.countdown, delivery.pk))
            else:
                later.backoffs[delivery.pk] = retry.countdown
    return later


def _client(app: FeishuApp, *, max_wait: float) -> FeishuClient:
    """A client for sends, on this process's kept-alive HTTP session."""
    return app.client(max_wait=max_wait, session=pooled_session())


def _send_owed(
    delivery: CardDelivery,
    client: FeishuClient,
    held: dict[int, render_cache.Rendered],
) -> None:
    """Send ``delivery``'s notifications not sent yet as one message (the current card
    answers them all), keeping the object in step with its row. Raises ``Retry``; permanent
    failures are recorded and end it. A notification asked for later (``requested`` + 1)
    comes with a task of its own, so the row is not read again.

    ``held``: cards rendered for sends a rate limit put off, by delivery, sent as they are
    when the send is tried again (as when the limiter slept), then checked for changes."""
    while delivery.sent < delivery.requested and delivery.app.enabled:
        number = delivery.requested
        card = held.pop(delivery.pk, None) or render_cache.current(
            delivery.incident_id, load=_incident_loader(delivery.incident_id), app=delivery.app
        )
        if card is None:
            return  # deleted meanwhile
        try:
            message_id = _post(delivery, card.card, number, client)
        except errors.RateLimited as exc:
            held[delivery.pk] = card
            raise Retry(exc.retry_after, str(exc), rate_limited=True) from None
        except errors.TransientError as exc:
            countdown = _transient_failure(delivery, exc)
            if countdown is None:
                return
            raise Retry(countdown, str(exc)) from None
        except errors.FeishuError as exc:
            _permanent_failure(delivery, exc)
            return
        finally:
            # The 80 % / 100 % of the month's calls that this send reached, on its timeline.
            budget.announce(client, delivery.incident_id)
        if not _record_sent(delivery, number, message_id, card.fingerprint):
            # A twin task recorded this number first: go on from the row as it is now.
            try:
                delivery.refresh_from_db(fields=["requested", "sent", "attempts"])
            except CardDelivery.DoesNotExist:
                return
        elif render_cache.changed_since(card):
            # A change while the card was on its way may have found nothing sent to update.
            schedule_sync(delivery.incident_id)


def _owed(delivery_ids: Sequence[int]) -> dict[int, CardDelivery]:
    """The deliveries with all a send needs but the card, in one query: app, chat, person,
    and the person's open_id in the app (``linked_open_id``)."""
    open_id = LinkedAccount.objects.filter(app=OuterRef("app"), user=OuterRef("user"))
    return {
        delivery.pk: delivery
        for delivery in CardDelivery.objects.select_related("app", "chat", "user")
        .annotate(linked_open_id=Subquery(open_id.values("open_id")[:1]))
        .filter(pk__in=list(delivery_ids))
    }


def _post(delivery: CardDelivery, card: dict, number: int, client: FeishuClient) -> str:
    uuid = f"oncall-{delivery.pk}-{number}"
    if delivery.chat_id:
        return client.send_message("chat_id", delivery.chat.chat_id, card, uuid)
    if delivery.linked_open_id is None:
        raise errors.PermanentError(_not_linked_message(delivery.user, delivery.app))
    return client.send_message("open_id", delivery.linked_open_id, card, uuid)


def _record_sent(
    delivery: CardDelivery, number: int, message_id: str, card_fingerprint: str
) -> bool:
    """Record message ``number`` (on the row and on ``delivery``) and its ``SentCard``, the
    recipient's older copies superseded; False when a task recorded this number or a later
    one first. A conditional UPDATE (``sent`` still below ``number``) decides which task
    writes the message's row, in the same transaction. A message that lost to a later one is
    kept as a superseded copy (``supersede.record_late``)."""
    now = timezone.now()
    # Before the commit that makes the card sent: a "none sent" counted meanwhile is not kept.
    _remember_cards_sent(delivery.incident_id)
    with transaction.atomic():
        recorded = CardDelivery.objects.filter(pk=delivery.pk, sent__lt=number).update(
            sent=number, state=State.SENT, last_error="", attempts=0, updated_at=now
        )
        if recorded:
            superseded = supersede.supersede_older(delivery.pk, now)
            SentCard.objects.create(
                delivery_id=delivery.pk,
                message_id=message_id,
                fingerprint=card_fingerprint,
                sent_at=now,
                updated_at=now,
            )
        else:
            superseded = supersede.record_late(delivery.pk, message_id, card_fingerprint, now)
    if superseded:
        schedule_sync(delivery.incident_id)  # the older copies get the short card
    if recorded:
        delivery.sent, delivery.state = number, State.SENT
        delivery.last_error, delivery.attempts = "", 0
        platforms.notifications_sent(PLATFORM_NAME)
    return recorded == 1


def _transient_failure(delivery: CardDelivery, exc: errors.FeishuError) -> float | None:
    """Seconds until the next attempt (bounded exponential backoff), or None after the last
    attempt, when the failure is recorded as final."""
    attempts = delivery.attempts + 1
    CardDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts, last_error=str(exc), updated_at=timezone.now()
    )
    if attempts >= MAX_SEND_ATTEMPTS:
        _permanent_failure(delivery, exc, after=attempts)
        return None
    platforms.notification_retried(PLATFORM_NAME, failure_reason(exc))
    return _backoff(attempts)


def _backoff(attempts: int) -> float:
    return min(2.0**attempts, 300.0)


def resend_stalled(now: datetime | None = None) -> int:
    """Hand out again the sends whose task was lost (a worker killed mid-send, a broker
    restarted): deliveries still owed a card and untouched for longer than their last backoff
    plus ``FEISHU_DELIVERY_REQUEUE_SECONDS``. The broker would give such a task back only after
    its visibility timeout (an hour on Redis). A send handed out twice posts once (Feishu's
    ``uuid``, the conditional "record message N"). Returns the deliveries handed out."""
    now = now or timezone.now()
    grace = timedelta(seconds=settings.FEISHU_DELIVERY_REQUEUE_SECONDS)
    owed = CardDelivery.objects.filter(
        sent__lt=F("requested"), state__in=[State.PENDING, State.SENT], updated_at__lt=now - grace
    ).values_list("pk", "attempts", "updated_at")
    stalled = [
        pk
        for pk, attempts, updated_at in owed
        if updated_at + timedelta(seconds=_backoff(attempts) if attempts else 0) + grace < now
    ]
    # Touched, so that the next sweep leaves them to the tasks handed out now.
    CardDelivery.objects.filter(pk__in=stalled).update(updated_at=now)
    _enqueue_sends(stalled)
    return len(stalled)


def _permanent_failure(delivery: CardDelivery, exc: errors.FeishuError, after: int = 0) -> None:
    state = State.FAILED
    if isinstance(exc, errors.BotNotInChat):
        state = State.BOT_NOT_IN_CHAT
        _mark_chat(delivery, FeishuChat.Status.BOT_REMOVED)
    elif isinstance(exc, errors.ChatDisbanded):
        _mark_chat(delivery, FeishuChat.Status.DISBANDED)
    said = {"recipient": delivery.recipient_name, "error": str(exc)}
    if after:
        message = feishu_phrase("feishu.not_delivered_after", attempts=after, **said)
    else:
        message = feishu_phrase("feishu.not_delivered", **said)
    with transaction.atomic():
        CardDelivery.objects.filter(pk=delivery.pk).update(
            state=state, last_error=str(exc), sent=delivery.requested
        )
        record(delivery.incident, Kind.DELIVERY_FAILED, Actor.system(), message)
    platforms.notifications_failed(PLATFORM_NAME, failure_reason(exc))
    logger.warning("delivery %s: %s", delivery.pk, message.in_language("en"))


# Why a send failed, for /metrics: the error's class, never its message (a label takes few
# values). The first class that matches wins, so subclasses come before their bases.
FAILURE_REASONS: tuple[tuple[type[errors.FeishuError], str], ...] = (
    (errors.BotNotInChat, "bot_not_in_chat"),
    (errors.ChatDisbanded, "chat_disbanded"),
    (errors.UserOutsideAvailability, "user_outside_availability"),
    (errors.AuthError, "app_credentials_refused"),
    (errors.QuotaExhausted, "quota_spent"),
    (errors.RateLimited, "rate_limited"),
    (errors.TransientError, "transient_error"),
    (errors.PermanentError, "refused"),
)


def failure_reason(exc: errors.FeishuError) -> str:
    return next((reason for cls, reason in FAILURE_REASONS if isinstance(exc, cls)), "error")


def _mark_chat(delivery: CardDelivery, status: FeishuChat.Status) -> None:
    if delivery.chat_id:
        record_gone(delivery.app, delivery.chat.chat_id, status)


# --- Keeping cards current --------------------------------------------------------------------


def _sync_key(incident_id: int) -> str:
    return f"feishu:card-sync:{incident_id}"


def _cards_sent_key(incident_id: int) -> str:
    return f"feishu:cards-sent:{incident_id}"


def _has_sent_cards(incident_id: int) -> bool:
    """Whether any card of the incident was sent. Once true it stays true (deliveries go only
    with their incident), so the answer is kept in the shared cache once the database gave it:
    every later change (each card click is one) asks Redis, not PostgreSQL.

    "None yet" is kept too, for a short while (``NO_CARDS_SENT_SECONDS``): an incident no chat
    app notifies changes with every alert merged into it, and each change asked the database
    again. It is added only where nothing is kept, and a send says "sent" before its commit
    (``_remember_cards_sent``), so a "none" counted before a send's commit never outlives it:
    either the send's mark is there first and the "none" is not added, or the mark replaces it.
    """
    known = cache.get(_cards_sent_key(incident_id))
    if known is not None:
        return bool(known)
    if CardDelivery.objects.filter(incident_id=incident_id, sent__gt=0).exists():
        _remember_cards_sent(incident_id)
        return True
    cache.add(_cards_sent_key(incident_id), False, timeout=NO_CARDS_SENT_SECONDS)
    return False


def _remember_cards_sent(incident_id: int) -> None:
    cache.set(_cards_sent_key(incident_id), True, timeout=CARDS_SENT_SECONDS)


def schedule_sync(incident_id: int) -> None:
    """Update the incident's cards in a second, once however many changes come meanwhile."""
    if not _has_sent_cards(incident_id):
        return
    if cache.add(_sync_key(incident_id), 1, timeout=SYNC_PLANNED_SECONDS):
        from integrations.feishu.tasks import sync_cards

        sync_cards.apply_async((incident_id,), countdown=SYNC_DELAY_SECONDS)


def sync(incident_id: int) -> int:
    """Patch every sent copy whose content is out of date; returns the copies patched."""
    cache.delete(_sync_key(incident_id))  # changes from now on schedule another run
    load = _incident_loader(incident_id)
    # One client (one HTTP session, so one connection) per app for every copy, not one each.
    clients: dict[int, FeishuClient] = {}
    patched = 0
    try:
        # Each app's card: its images are that app's uploads (the same card when none).
        for app in _apps_with_copies(incident_id):
            card = render_cache.current(incident_id, load=load, app=app)
            if card is None:
                return patched  # deleted meanwhile: its deliveries went with it
            for copy in _stale_copies(incident_id, app, card.fingerprint):
                if app.pk not in clients:
                    clients[app.pk] = app.client(max_wait=TASK_MAX_WAIT_SECONDS)
                shown, shows = card.card, card.fingerprint
                if copy.superseded_at is not None:
                    shown = supersede.short_card(copy.delivery.incident, app)
                    shows = supersede.SUPERSEDED_FINGERPRINT
                try:
                    updated = _patch_copy(clients[app.pk], copy, shown)
                finally:
                    budget.announce(clients[app.pk], incident_id)
                if updated:
                    _record_patched(copy, shows)
                    patched += 1
    finally:
        for client in clients.values():
            client.session.close()
    return patched


def _updatable(incident_id: int) -> Any:
    """The incident's sent copies that Feishu still lets us update."""
    return SentCard.objects.filter(
        delivery__incident_id=incident_id, sent_at__gt=timezone.now() - CARD_UPDATE_WINDOW
    )


def _apps_with_copies(incident_id: int) -> list[FeishuApp]:
    sending = _updatable(incident_id).values("delivery__app")
    return list(FeishuApp.objects.filter(pk__in=sending).order_by("pk"))


def _stale_copies(incident_id: int, app: FeishuApp, current: str) -> list[SentCard]:
    """``app``'s sent copies of the incident that Feishu still lets us update and that show
    another card than they should: a live copy ``current``, a superseded one the short card.
    Oldest first."""
    live = Q(superseded_at__isnull=True) & ~Q(fingerprint=current)
    superseded = Q(superseded_at__isnull=False) & ~Q(fingerprint=supersede.SUPERSEDED_FINGERPRINT)
    return list(
        _updatable(incident_id)
        .select_related("delivery__incident")
        .filter(delivery__app=app)
        .filter(live | superseded)
        .order_by("delivery_id", "sent_at", "id")
    )


def _incident_loader(incident_id: int) -> Callable[[], Incident | None]:
    """Reads the incident with what its card shows, when ``render_cache`` needs it (its war
    room too, while an app has war rooms on). Nothing is built until then: most sends reuse
    the card, and asking whether war rooms are in use is a cache round trip."""

    def load() -> Incident | None:
        from integrations.feishu.war_rooms import prefetch_rooms  # war rooms post cards

        incidents = Incident.objects.select_related(
            "channel", "claimed_by", "closed_by", "merged_into", "assigned_to"
        )
        return prefetch_rooms(incidents.filter(pk=incident_id)).first()

    return load


def record_shown(app: FeishuApp, message_id: str, card: dict) -> None:
    """``card`` replaced the copy ``message_id`` (a click's answer did): a sync that finds
    the same card current does not patch that copy again. A superseded copy shows the card
    for now, and the sync the click planned turns it back into the short form."""
    if message_id:
        shown = Case(
            When(superseded_at__isnull=True, then=Value(fingerprint(card))),
            default=Value(""),  # not the short form: the next sync puts it back
        )
        SentCard.objects.filter(message_id=message_id, delivery__app=app).update(
            fingerprint=shown, updated_at=timezone.now()
        )


def _patch_copy(client: FeishuClient, copy: SentCard, card: dict) -> bool:
    """PATCH one copy; False when Feishu refused it for good (it stays as it was). Raises
    ``Retry`` on rate limits and transient failures: the copies patched so far are recorded,
    so the retry patches only the rest."""
    try:
        client.patch_message(copy.message_id, card)
    except errors.RateLimited as exc:
        raise Retry(exc.retry_after, str(exc)) from None
    except errors.TransientError as exc:
        raise Retry(2, str(exc)) from None
    except errors.CardTooOld:
        return False
    except errors.FeishuError as exc:
        logger.warning(
            "delivery %s: card %s not updated: %s", copy.delivery_id, copy.message_id, exc
        )
        return False
    return True


def _record_patched(copy: SentCard, shown: str) -> None:
    SentCard.objects.filter(pk=copy.pk).update(fingerprint=shown, updated_at=timezone.now())


# The timeline's own bookkeeping: nothing the card shows.
CARD_NEUTRAL_KINDS = frozenset({Kind.NOTIFIED, Kind.DELIVERY_FAILED, Kind.ESCALATION})


def follow_change(incident_id: int, kind: str) -> None:
    """``FeishuPlatform.incident_changed``: every change, from any surface, makes the stored
    card stale and refreshes the incident's sent cards (coalesced). A new incident has no card
    sent yet: every ingested event announces a change, so skipping the sync spares a query
    each."""
    if kind in CARD_NEUTRAL_KINDS:
        return
    render_cache.changed(incident_id)
    if kind != Kind.CREATED:
        schedule_sync(incident_id)
