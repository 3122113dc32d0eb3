"""Delivering incident cards through a DingTalk app, and keeping every sent copy current.

* ``notify(incident, app, users, groups)`` is what escalation calls: one more notification per
  recipient (a ``DingTalkCardDelivery`` row each), the sending handed to a task after commit.
  A person without a linked DingTalk account in the app ("app not linked", with the app's
  sign-in to link it), linked without a userid, or a group whose cool app was uninstalled, is
  recorded on the timeline instead.
* ``send(delivery_id)`` sends what was asked for: the current card, once, however many
  notifications were asked since the last send. The card's id (DingTalk's outTrackId,
  ``cardBizId``) is ``oncall-<delivery>-<n>``, ``n`` the notification it answers: DingTalk
  holds one card per id, so a send retried after a crash names the same card; and the console's
  own send record decides which task records it (a conditional UPDATE on ``sent``, in the step
  that writes the ``DingTalkSentCard``), so a task run twice posts once and records once.
* ``sync(incident_id)`` puts the incident's current card into every sent copy whose fingerprint
  differs (one query finds them). ``follow_change`` plans it after every change, coalesced: the
  changes of one second give each copy one update. A send plans one only when a change was
  announced while its card was rendered and on its way (the incident's card version,
  ``chatkit.card_versions``, read before the incident): a new incident's card is rendered for
  its sends and not once more for a sync that cannot change it.

The cache holds no correctness: "a sync is planned" only spares tasks; flushed, one sync more
finds the copies current and updates nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from integrations.chatkit import deliveries
from integrations.chatkit.card_versions import CardVersions
from integrations.dingtalk import PLATFORM_NAME, escalation_targets, presence, receivers
from integrations.dingtalk.budget import DatabaseMeter
from integrations.dingtalk.cards.render import card_fingerprint, incident_card
from integrations.dingtalk.client import errors
from integrations.dingtalk.client.open_api import DingTalkClient
from integrations.dingtalk.models import (
    DingTalkApp,
    DingTalkCardDelivery,
    DingTalkGroup,
    DingTalkSentCard,
)
from integrations.dingtalk.timeline_words import dingtalk_phrase
from oncall import platforms
from oncall.models import Incident, TimelineEntry
from oncall.timeline import Actor, display_name, record
from oncall.timeline_messages import Phrase

logger = logging.getLogger(__name__)

State = DingTalkCardDelivery.State
Kind = TimelineEntry.Kind
MAX_SEND_ATTEMPTS = 8
SYNC_DELAY_SECONDS = 1.0
SYNC_PLANNED_SECONDS = int(SYNC_DELAY_SECONDS) + 3
# The route key the app's card callback URL is registered under (``callback_route_key``).
ROUTE_KEY_PREFIX = "oncall-"


class Retry(Exception):
    """Try again after ``countdown`` seconds (the task reschedules itself)."""

    def __init__(self, countdown: float, reason: str):
        super().__init__(reason)
        self.countdown = countdown


class Paced(Retry):
    """The receiver has had its messages for now (``receivers``): send again after
    ``countdown`` seconds, a wait that is no failed attempt (the task is sent again, not
    retried, so no number of waits ends it)."""


def callback_route_key(app: DingTalkApp) -> str:
    """The key DingTalk routes the app's card clicks by, to the card callback URL registered
    under it (``POST /topapi/im/chat/scencegroup/interactivecard/callback/register``)."""
    return f"{ROUTE_KEY_PREFIX}{app.public_id.hex}"


def card_callback_url(app: DingTalkApp) -> str:
    """The URL DingTalk calls back with card clicks, registered under ``callback_route_key``."""
    return settings.PUBLIC_BASE_URL + reverse("dingtalk:card-callback", args=[app.public_id])


def client_for(app: DingTalkApp) -> DingTalkClient:
    """A client that counts every call against the app's budget and paces its second."""
    return app.client(meter=DatabaseMeter(app))


# --- Asking for notifications -------------------------------------------------------------------


@dataclass(frozen=True)
class Notified:
    delivery_ids: list[int]
    unreachable: list[str]


@transaction.atomic
def notify(
    incident: Incident, app: DingTalkApp, users: Iterable[Any], groups: Iterable[DingTalkGroup]
) -> Notified:
    """One more notification of ``incident`` for each recipient; sends after commit."""
    users, groups = list(users), list(groups)
    linked = escalation_targets.linked_user_ids(app, users)
    rows = _request(incident, app, users, groups)
    to_send: list[int] = []
    unreachable: list[str] = []
    refused: list[tuple[DingTalkCardDelivery, State, Phrase]] = []
    for user in users:
        delivery = rows[("user", user.pk)]
        if linked.get(user.pk):
            to_send.append(delivery.pk)
        else:
            unreachable.append(platforms.person_name(user))
            refused.append((delivery, State.NOT_LINKED, unlinked_phrase(user, app, linked)))
    for group in groups:
        delivery = rows[("group", group.pk)]
        if group.usable:
            to_send.append(delivery.pk)
        else:
            unreachable.append(str(group))
            message = dingtalk_phrase("dingtalk.group_uninstalled", group=str(group))
            refused.append((delivery, State.GROUP_UNINSTALLED, message))
    _refuse(incident, refused)
    if to_send:
        incident_ids = [incident.pk] * len(to_send)
        transaction.on_commit(lambda: _enqueue_sends(to_send, incident_ids))
    return Notified(to_send, unreachable)


def _request(
    incident: Incident, app: DingTalkApp, users: list[Any], groups: list[DingTalkGroup]
) -> dict[tuple[str, int], DingTalkCardDelivery]:
    return deliveries.request(
        DingTalkCardDelivery, incident, app, users, groups, group_field="group", related=["group"]
    )


def _refuse(incident: Incident, refused: list[tuple[DingTalkCardDelivery, State, Phrase]]) -> None:
    """Record why recipients get nothing; on the timeline once per change of reason."""
    deliveries.refuse(DingTalkCardDelivery, PLATFORM_NAME, incident, refused)


def unlinked_phrase(user: Any, app: DingTalkApp, linked: dict[int, str]) -> Phrase:
    """Why ``user`` gets no one-to-one card from ``app``: no linked account ("app not linked",
    with the app's sign-in to link it), or one without a userid. ``linked``: the people's
    ``escalation_targets.linked_user_ids``."""
    kind = "dingtalk.no_user_id" if user.pk in linked else "dingtalk.not_linked"
    return dingtalk_phrase(kind, person=display_name(user), app=str(app), url=app.link_url)


def _enqueue_sends(delivery_ids: list[int], incident_ids: list[int]) -> None:
    """A task per delivery, told its incident (``incident_ids``, in the same order): the send
    reads the incident's card version before the incident."""
    from integrations.dingtalk.tasks import send_card

    for pk, incident_id in zip(delivery_ids, incident_ids, strict=True):
        send_card.delay(pk, incident_id)


# --- Sending ------------------------------------------------------------------------------------


def out_track_id(delivery: DingTalkCardDelivery, number: int) -> str:
    return f"oncall-{delivery.pk}-{number}"


def send(
    delivery_id: int, incident_id: int | None = None, *, client: DingTalkClient | None = None
) -> None:
    """Send what the delivery is owed (see the module's docstring). Raises ``Retry``;
    permanent failures are recorded and end it. ``incident_id``: the delivery's incident,
    whose card version is read before the incident is (without it, as from a task queued
    before versions, every send plans a sync)."""
    version = VERSIONS.at_render(incident_id) if incident_id is not None else None
    delivery = (
        DingTalkCardDelivery.objects.select_related("app", "group", "user", "incident__channel")
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None or not delivery.app.enabled:
        return
    while delivery.sent < delivery.requested:
        number = delivery.requested
        card = incident_card(delivery.incident)
        try:
            _post(delivery, number, card, client or client_for(delivery.app))
        except receivers.ReceiverBusy as exc:
            raise Paced(exc.retry_after, str(exc)) from None
        except errors.RateLimited as exc:
            raise Retry(exc.retry_after, str(exc)) from None
        except errors.TransientError as exc:
            countdown = _transient_failure(delivery, exc)
            if countdown is None:
                return
            raise Retry(countdown, str(exc)) from None
        except errors.DingTalkError as exc:
            _permanent_failure(delivery, exc)
            return
        if not _record_sent(delivery, number, card, version):
            delivery.refresh_from_db(fields=["requested", "sent"])


def _post(delivery: DingTalkCardDelivery, number: int, card: dict, client: DingTalkClient) -> None:
    app = delivery.app
    common = {
        "robot_code": app.client_id,  # an internal app's robot code is its Client ID
        "callback_route_key": callback_route_key(app),
    }
    track = out_track_id(delivery, number)
    if delivery.group_id:
        group = delivery.group
        if group.scene_group and group.robot_code:
            # A war room: the group template's bot is the robot there (the guide's "Bot ID").
            common["robot_code"] = group.robot_code
        receivers.pace(app, receivers.group_receiver(group.open_conversation_id))
        client.send_card(track, card, open_conversation_id=group.open_conversation_id, **common)
        return
    linked = escalation_targets.linked_user_ids(app, [delivery.user])
    user_id = linked.get(delivery.user_id)
    if not user_id:  # unlinked since the notification was asked for
        reason = unlinked_phrase(delivery.user, app, linked).in_language("en")
        raise errors.PermanentError(reason)
    receivers.pace(app, receivers.person_receiver(user_id))
    client.send_card(track, card, user_id=user_id, **common)


def _record_sent(
    delivery: DingTalkCardDelivery, number: int, card: dict, version: str | None
) -> bool:
    """Record card ``number`` and its ``DingTalkSentCard``; False when a twin task recorded
    this number or a later one first (its card is the same card: DingTalk holds one per id).
    ``version``: the incident's card version the card was rendered at."""
    now = timezone.now()
    with transaction.atomic():
        recorded = DingTalkCardDelivery.objects.filter(pk=delivery.pk, sent__lt=number).update(
            sent=number, state=State.SENT, last_error="", attempts=0, updated_at=now
        )
        if recorded:
            DingTalkSentCard.objects.get_or_create(
                out_track_id=out_track_id(delivery, number),
                defaults={
                    "delivery": delivery,
                    "fingerprint": card_fingerprint(card),
                    "sent_at": now,
                    "updated_at": now,
                },
            )
    if recorded:
        delivery.sent, delivery.state = number, State.SENT
        platforms.notifications_sent(PLATFORM_NAME)
        # A change while the card was on its way may have found nothing to update.
        if VERSIONS.changed_since(delivery.incident_id, version):
            schedule_sync(delivery.incident_id)
    return recorded == 1


# A send still owed this long after its row last moved (plus its backoff) lost its task (a worker
# killed mid-send, a broker restarted): the sweep hands it out again. A send handed out twice
# posts once (one card per outTrackId, the conditional "record card n").
REQUEUE_SECONDS = 60


def resend_stalled(now: datetime | None = None) -> int:
    """Hand out again the sends whose task was lost; returns how many."""
    now = now or timezone.now()
    grace = timedelta(seconds=REQUEUE_SECONDS)
    owed = DingTalkCardDelivery.objects.filter(
        sent__lt=F("requested"), state__in=[State.PENDING, State.SENT], updated_at__lt=now - grace
    ).values_list("pk", "incident_id", "attempts", "updated_at")
    stalled = {
        pk: incident_id
        for pk, incident_id, attempts, updated_at in owed
        if updated_at + timedelta(seconds=_backoff(attempts) if attempts else 0) + grace < now
    }
    # Touched, so that the next sweep leaves them to the tasks handed out now.
    DingTalkCardDelivery.objects.filter(pk__in=list(stalled)).update(updated_at=now)
    _enqueue_sends(list(stalled), list(stalled.values()))
    return len(stalled)


def _backoff(attempts: int) -> float:
    return min(2.0**attempts, 300.0)


def _transient_failure(delivery: DingTalkCardDelivery, exc: errors.DingTalkError) -> float | None:
    attempts = delivery.attempts + 1
    DingTalkCardDelivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts, last_error=str(exc), updated_at=timezone.now()
    )
    delivery.attempts = attempts
    if attempts >= MAX_SEND_ATTEMPTS:
        _permanent_failure(delivery, exc, after=attempts)
        return None
    platforms.notification_retried(PLATFORM_NAME, "transient_error")
    return _backoff(attempts)


def _permanent_failure(
    delivery: DingTalkCardDelivery, exc: errors.DingTalkError, after: int = 0
) -> None:
    state = State.BUDGET_SPENT if isinstance(exc, errors.QuotaExhausted) else State.FAILED
    recipient, error = delivery.recipient_name, str(exc)
    if after:
        message = dingtalk_phrase(
            "dingtalk.not_delivered_after", recipient=recipient, attempts=after, error=error
        )
    else:
        message = dingtalk_phrase("dingtalk.not_delivered", recipient=recipient, error=error)
    with transaction.atomic():
        DingTalkCardDelivery.objects.filter(pk=delivery.pk).update(
            state=state, last_error=str(exc), sent=delivery.requested
        )
        record(delivery.incident, Kind.DELIVERY_FAILED, Actor.system(), message)
    reason = "quota_spent" if state == State.BUDGET_SPENT else "refused"
    platforms.notifications_failed(PLATFORM_NAME, reason)
    logger.warning("DingTalk delivery %s: %s", delivery.pk, message)


# --- Keeping cards current ----------------------------------------------------------------------

# The timeline's own bookkeeping: nothing the card shows.
CARD_NEUTRAL_KINDS = frozenset({Kind.NOTIFIED, Kind.DELIVERY_FAILED, Kind.ESCALATION})
VERSIONS = CardVersions("dingtalk")


def _sync_key(incident_id: int) -> str:
    return f"dingtalk:card-sync:{incident_id}"


def follow_change(incident_id: int, kind: str) -> None:
    """``DingTalkPlatform.incident_changed``: every change that the card shows refreshes the
    incident's sent cards (coalesced). A new incident has no card yet."""
    if kind in CARD_NEUTRAL_KINDS or kind == Kind.CREATED or not presence.has_apps():
        return  # (no app: no card was ever sent)
    VERSIONS.changed(incident_id)  # before the look for sent cards: a send may be on its way
    schedule_sync(incident_id)


def schedule_sync(incident_id: int) -> None:
    if not DingTalkSentCard.objects.filter(delivery__incident_id=incident_id).exists():
        return
    if cache.add(_sync_key(incident_id), 1, timeout=SYNC_PLANNED_SECONDS):
        from integrations.dingtalk.tasks import sync_cards

        transaction.on_commit(
            lambda: sync_cards.apply_async((incident_id,), countdown=SYNC_DELAY_SECONDS),
            robust=True,
        )


def sync(incident_id: int, *, clients: dict[int, DingTalkClient] | None = None) -> int:
    """Put the current card into every sent copy that shows another; returns how many. A copy
    updated is recorded at once, so a retry after a rate limit updates only the rest."""
    cache.delete(_sync_key(incident_id))
    incident = Incident.objects.select_related("channel").filter(pk=incident_id).first()
    if incident is None:
        return 0
    card = incident_card(incident)
    current = card_fingerprint(card)
    clients = {} if clients is None else clients
    updated = 0
    stale = (
        DingTalkSentCard.objects.filter(delivery__incident_id=incident_id)
        .exclude(fingerprint=current)
        .select_related("delivery__app")
        .order_by("pk")
    )
    for copy in stale:
        app = copy.delivery.app
        if not app.enabled:
            continue
        client = clients.setdefault(app.pk, client_for(app))
        try:
            client.update_card(copy.out_track_id, card)
        except errors.RateLimited as exc:
            raise Retry(exc.retry_after, str(exc)) from None
        except errors.TransientError as exc:
            raise Retry(2, str(exc)) from None
        except errors.DingTalkError as exc:
            logger.warning("DingTalk card %s not updated: %s", copy.out_track_id, exc)
            continue
        record_shown(copy.out_track_id, card)
        updated += 1
    return updated


def record_shown(track_id: str, card: dict) -> None:
    """``card`` is what the copy ``track_id`` shows now (an update, or a click's answer)."""
    DingTalkSentCard.objects.filter(out_track_id=track_id).update(
        fingerprint=card_fingerprint(card), updated_at=timezone.now()
    )
