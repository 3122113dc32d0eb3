"""War rooms: a Feishu group chat for one incident (the knowledge base's "Configure war room").

* **Asking** (``request``): a responder runs the incident's "war_room" action (``oncall.offers``:
  the card's button, the incident page, ``POST /api/v1/incidents/<id>/actions/war_room/``), or
  an escalation rule whose option says so opens one with its first notification
  (``open_for_rule``). Either writes the ``WarRoom`` row, under its unique constraint and a
  row lock, in the asking transaction, and hands the Feishu calls to a task after commit: a
  second request, or two at once, finds the first one's room.
* **Opening** (``open_room``, in a task): create the chat with Feishu's ``uuid`` derived from
  the row (one chat per uuid in 10 h, so a retried or re-handed task creates one chat), invite
  the members, record the chat as one of the bot's chats, write the timeline, and post the
  incident's card there as one more ``CardDelivery``: every later change updates that copy
  like every other one, and its buttons work there like anywhere. The card is then pinned
  (``pin_card``).
* **Members**: the bot, whoever asked, the claimer, everyone the escalation notified (the
  incident's card deliveries to people) and the people chosen when asking; each through their
  linked account in the app. Who could not be invited is said on the timeline, with why.
* A room stuck opening (a lost task) is handed out again by ``hand_out_stalled``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.chatkit.counted import CountedInCache
from integrations.feishu import escalation_targets
from integrations.feishu.client import errors
from integrations.feishu.models import (
    AutoWarRoom,
    CardDelivery,
    FeishuApp,
    FeishuChat,
    LinkedAccount,
    Platform,
    SentCard,
    WarRoom,
)
from oncall.events import Severity
from oncall.links import incident_url
from oncall.models import Incident, TimelineEntry
from oncall.offers import ActionResult, OfferedAction, OfferedLink
from oncall.timeline import Actor, display_name, record
from oncall.timeline_messages import Phrase, people, phrase

logger = logging.getLogger(__name__)

KEY = "war_room"
State = WarRoom.State
# Feishu's group name limit (create chat: ``name``). 60 is the documented figure we rely on;
# a shorter name is always accepted.
NAME_LIMIT = 60
# A room still opening after this long lost its task: the sweep hands it out again.
STALLED_AFTER = timedelta(minutes=2)


# --- Which app opens rooms ------------------------------------------------------------------


def app_for(incident: Incident) -> FeishuApp | None:
    """The app that opens the incident's war room: of the enabled apps with war rooms on, the
    only one (the knowledge base: one IM integration at a time has war rooms), or else the one
    delivering the incident's cards. One query while no app has war rooms on."""
    rooms = list(FeishuApp.objects.filter(enabled=True, war_room_enabled=True))
    if len(rooms) <= 1:
        return rooms[0] if rooms else None
    rule = incident.escalation_rule
    delivering = (
        escalation_targets.delivering_app(rule)
        if rule is not None
        else escalation_targets.default_delivering_app()
    )
    return next((app for app in rooms if delivering and app.pk == delivering.pk), None)


ROOMS = "feishu_war_rooms"  # the related name of an incident's rooms


def room_of(incident: Incident) -> WarRoom | None:
    """The incident's room, opening or open (not a failed one); from ``prefetch_rooms`` when
    the incident was read with it."""
    prefetched = getattr(incident, "_prefetched_objects_cache", {}).get(ROOMS)
    rooms = prefetched if prefetched is not None else _rooms().filter(incident=incident)[:1]
    return next((room for room in rooms if room.state != State.FAILED), None)


def _rooms() -> Any:
    return WarRoom.objects.exclude(state=State.FAILED).select_related("app", "chat")


def prefetch_rooms(incidents: Any) -> Any:
    """``incidents`` (a queryset) with their rooms read along, for ``room_of``: one query for
    all, and none at all while no app has war rooms on."""
    return incidents.prefetch_related(Prefetch(ROOMS, queryset=_rooms())) if in_use() else incidents


def chat_link(app: FeishuApp, chat_id: str) -> str:
    """Where "War room" leads: Feishu's applink that opens the chat in the client (desktop and
    mobile); for the sandbox, its page of the chat.
    https://open.feishu.cn/document/client-docs/deep-link/open-a-chat"""
    if app.platform == Platform.SANDBOX:
        if apps.is_installed("integrations.feishu_sandbox"):
            return settings.PUBLIC_BASE_URL + reverse("feishu_sandbox:chat", args=[chat_id])
        return f"{app.open_api_base}/chats/{chat_id}/"
    host = "applink.larksuite.com" if app.platform == Platform.LARK else "applink.feishu.cn"
    return f"https://{host}/client/chat/open?openChatId={chat_id}"


def room_name(incident: Incident) -> str:
    """``#<number> <title>``, cut to Feishu's limit."""
    name = f"#{incident.number} {' '.join(incident.title.split())}"
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1] + "…"


# --- Which apps have war rooms on -----------------------------------------------------------------
#
# The war-room offer is asked on every incident page, card and API answer, and most consoles
# have no app with war rooms on: the shared cache keeps the ids of the enabled apps that have,
# so that "nothing" (and, with one such app, "offered") costs no query once counted. The
# database stays the truth: a missing entry is counted again from it, and every save or delete
# of an app (``apps_changed``, connected in ``FeishuConfig.ready``) drops the entry, at once
# and again once its transaction commits, so that no process keeps what another changed.

APPS_KEY = "feishu:war-room-apps"


def _count_apps_in_use() -> list[int]:
    return list(
        FeishuApp.objects.filter(enabled=True, war_room_enabled=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# The ids of the enabled apps with war rooms on (``chatkit.counted``).
APPS_IN_USE = CountedInCache(APPS_KEY, _count_apps_in_use)
count_apps_in_use = APPS_IN_USE.count_again
apps_changed = APPS_IN_USE.changed
forget_apps_in_use = APPS_IN_USE.forget


def apps_in_use() -> list[int]:
    """The ids of the enabled apps with war rooms on (a query only when not counted yet)."""
    return list(APPS_IN_USE.get())


def in_use() -> bool:
    """Whether an enabled app has war rooms on."""
    return bool(apps_in_use())


# --- What the incident offers (oncall.offers) ----------------------------------------------------


class WarRoomOffers:
    """``oncall.offers.OfferProvider`` (``FeishuPlatform.offer_providers``): "Open a war room"
    while the incident has none (or the last attempt failed), the link "War room" once it has
    one. No query while no app has war rooms on (``apps_in_use``); otherwise one for the room
    (none when the caller prefetched ``feishu_war_rooms``: ``prefetch_rooms``), and for the
    action, where several apps have war rooms, the look-up of the one that serves the
    incident (``app_for``)."""

    def links(self, incident: Incident) -> list[OfferedLink]:
        # A sample card's incident (no pk) has no room.
        if incident.pk is None or not in_use():
            return []
        room = room_of(incident)
        if room is None or room.state != State.OPEN or room.chat is None:
            return []
        return [OfferedLink(KEY, _("War room"), chat_link(room.app, room.chat.chat_id))]

    def actions(self, incident: Incident) -> list[OfferedAction]:
        apps_on = apps_in_use() if incident.pk is not None else []
        if not apps_on or room_of(incident) is not None:
            return []
        # One app with war rooms serves every incident; among several, the delivering one.
        if len(apps_on) > 1 and app_for(incident) is None:
            return []
        return [OfferedAction(KEY, _("Open a war room"), icon="💬", takes_people=True)]

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if key != KEY:
            return None
        app = app_for(incident)
        if app is None:
            return ActionResult(
                False, _("No Feishu app with war rooms enabled serves this incident.")
            )
        # ``oncall.offers.run_action`` resolved them: active members of the channel.
        room = request(incident, app, actor, list(options.get("people") or []))
        return outcome(room)


def outcome(room: WarRoom) -> ActionResult:
    """What asking for ``room`` did, in words for whoever asked (the room as it is now: the
    task may have opened it already)."""
    room.refresh_from_db()
    if room.state == State.OPEN and room.chat_id:
        link = chat_link(room.app, room.chat.chat_id)
        return ActionResult(True, _("The war room “%(name)s” is open.") % {"name": room.name}, link)
    if room.state == State.FAILED:
        return ActionResult(False, room.last_error)
    return ActionResult(
        True, _("Opening the war room: its link appears on the incident in a moment.")
    )


# --- Asking for a room ---------------------------------------------------------------------------


def request(
    incident: Incident, app: FeishuApp, actor: Actor, people: Sequence[Any] = ()
) -> WarRoom:
    """The incident's room in ``app``: the existing one (people chosen now are invited to it), or
    a new one planned in this transaction and opened by a task after commit."""
    with transaction.atomic():
        room, planned = _lock_or_create(incident, app, actor)
        if people:
            room.chosen_people.add(*people)
        if planned:
            record(
                incident,
                TimelineEntry.Kind.WAR_ROOM,
                actor,
                phrase("war_room.requested", actor=actor.name),
            )
            transaction.on_commit(lambda: _enqueue_open(room.pk))
        elif people and room.state == State.OPEN:
            transaction.on_commit(lambda: _enqueue_invite(room.pk, [p.pk for p in people]))
    return room


def _lock_or_create(incident: Incident, app: FeishuApp, actor: Actor) -> tuple[WarRoom, bool]:
    """(the row, locked; whether a room is to be opened now). A failed room is tried again."""
    fields = {"requested_by": actor.user, "requested_via": actor.source}
    try:
        with transaction.atomic():
            return WarRoom.objects.create(incident=incident, app=app, **fields), True
    except IntegrityError:
        pass  # asked for before, or by a concurrent request that committed first
    room = WarRoom.objects.select_for_update().get(incident=incident, app=app)
    if room.state != State.FAILED:
        return room, False
    room.state, room.attempt, room.last_error = State.OPENING, room.attempt + 1, ""
    room.requested_by, room.requested_via = actor.user, actor.source
    room.updated_at = timezone.now()
    room.save()
    return room, True


def open_for_rule(incident: Incident, rule: Any, app: FeishuApp) -> WarRoom | None:
    """Called with a rule's notification: open the room when the rule's option covers the
    incident's severity and the app has war rooms enabled (inside the escalation step's
    transaction)."""
    if not app.war_room_enabled or not app.enabled or not rule_wants_room(rule, incident):
        return None
    if WarRoom.objects.filter(incident=incident, app=app).exists():
        return None  # open, opening, or refused by Feishu: a person may ask again
    return request(incident, app, Actor(None, "system", {"name": f"rule “{rule.name}”"}))


SEVERITIES_OF = {
    AutoWarRoom.CRITICAL: {Severity.CRITICAL},
    AutoWarRoom.WARNING: {Severity.CRITICAL, Severity.WARNING},
}


def rule_wants_room(rule: Any, incident: Incident) -> bool:
    """Whether ``rule``'s option covers ``incident``'s severity (the rule's ``feishu_war_room``
    as prefetched by ``prefetch_rules``, else one query)."""
    option = escalation_targets.war_room_option(rule)
    if not option:
        return False
    return option == AutoWarRoom.ALWAYS or incident.severity in SEVERITIES_OF.get(option, set())


def _enqueue_open(room_id: int) -> None:
    from integrations.feishu.tasks import open_war_room

    open_war_room.delay(room_id)


def _enqueue_invite(room_id: int, user_ids: list[int]) -> None:
    from integrations.feishu.tasks import invite_to_war_room

    invite_to_war_room.delay(room_id, user_ids)


# --- Opening it (a task) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """Who was invited (names, and ids in ``user_ids``) and who could not be, with why."""

    invited: list[str]
    refused: list[str]
    user_ids: list[int]

    def described(self) -> Phrase | list[str]:
        """ "Alice, Bob; not invited: Carol (no linked Feishu account in Ops)"."""
        invited = people(list(self.invited))
        if self.refused:
            return phrase("invited.refused", people=invited, refused=list(self.refused))
        return invited


def open_room(room_id: int) -> None:
    """Create the room's chat, invite its members, post and pin the card. Raises
    ``errors.RateLimited`` / ``errors.TransientError`` for the task to retry; a permanent
    refusal is recorded on the row and the timeline, in plain words."""
    room = _load(room_id)
    if room is None or room.state != State.OPENING:
        return
    client = room.app.client()
    people = members(room)
    try:
        chat_id = client.create_chat(
            room_name(room.incident), _description(room.incident), [], room.create_uuid
        )
        invitation = invite(client, room.app, chat_id, people)
    except (errors.RateLimited, errors.TransientError):
        raise
    except errors.FeishuError as exc:
        _failed(room, explain(exc))
        return
    finally:
        client.session.close()
    _opened(room, chat_id, invitation)


def _load(room_id: int) -> WarRoom | None:
    return (
        WarRoom.objects.select_related("app", "incident", "incident__channel", "requested_by")
        .filter(pk=room_id)
        .first()
    )


def _description(incident: Incident) -> str:
    return f"{incident.channel.name} · {incident_url(incident)}"


def members(room: WarRoom) -> list[Any]:
    """Whoever asked, the claimer, everyone the escalation notified, the people chosen: once
    each, in that order."""
    from django.contrib.auth import get_user_model

    incident = room.incident
    ids: list[int] = []
    ids += [room.requested_by_id] if room.requested_by_id else []
    ids += [incident.claimed_by_id] if incident.claimed_by_id else []
    ids += list(
        CardDelivery.objects.filter(incident=incident, user__isnull=False, requested__gt=0)
        .order_by("created_at", "id")
        .values_list("user_id", flat=True)
    )
    ids += list(room.chosen_people.values_list("pk", flat=True))
    ordered = list(dict.fromkeys(ids))
    users = get_user_model().objects.in_bulk(ordered)
    return [users[pk] for pk in ordered if pk in users and users[pk].is_active]


def invite(client: Any, app: FeishuApp, chat_id: str, people: Iterable[Any]) -> Invitation:
    """Add ``people`` to the chat through their linked accounts (Feishu adds whom it can and
    lists the ids it could not: outside the app's availability, or unknown)."""
    people = list(people)
    open_ids = dict(
        LinkedAccount.objects.filter(app=app, user__in=[p.pk for p in people]).values_list(
            "user_id", "open_id"
        )
    )
    refused_ids = (
        set(client.add_chat_members(chat_id, list(open_ids.values()))) if open_ids else set()
    )
    invited, refused, user_ids = [], [], []
    for person in people:
        name = display_name(person)
        open_id = open_ids.get(person.pk)
        if open_id is None:
            refused.append(f"{name} (no linked Feishu account in {app})")
        elif open_id in refused_ids:
            refused.append(f"{name} (outside the app's availability, or unknown to Feishu)")
        else:
            invited.append(name)
            user_ids.append(person.pk)
    return Invitation(invited, refused, user_ids)


def _opened(room: WarRoom, chat_id: str, invitation: Invitation) -> None:
    from integrations.feishu.cards import delivery

    incident = room.incident
    with transaction.atomic():
        locked = WarRoom.objects.select_for_update().get(pk=room.pk)
        if locked.state != State.OPENING:
            return  # a twin task opened it first
        chat, _created = FeishuChat.objects.update_or_create(
            app=room.app,
            chat_id=chat_id,
            defaults={"name": room_name(incident), "status": FeishuChat.Status.ACTIVE},
        )
        now = timezone.now()
        WarRoom.objects.filter(pk=room.pk).update(
            state=State.OPEN,
            chat=chat,
            name=chat.name,
            opened_at=now,
            updated_at=now,
        )
        locked.invited_people.add(*invitation.user_ids)
        record(
            incident, TimelineEntry.Kind.WAR_ROOM, _asker(room), _opened_message(chat, invitation)
        )
        delivery.notify(incident, room.app, [], [chat])
        transaction.on_commit(lambda: _enqueue_pin(room.pk))


def _asker(room: WarRoom) -> Actor:
    if room.requested_by is not None:
        return Actor(room.requested_by, room.requested_via or "system")
    return Actor.system()


def _opened_message(chat: FeishuChat, invitation: Invitation) -> Phrase:
    return phrase("war_room.opened", chat=chat.name, people=invitation.described())


def _failed(room: WarRoom, reason: str) -> None:
    with transaction.atomic():
        WarRoom.objects.filter(pk=room.pk).update(
            state=State.FAILED, last_error=reason, updated_at=timezone.now()
        )
        record(
            room.incident,
            TimelineEntry.Kind.WAR_ROOM,
            Actor.system(),
            phrase("war_room.failed", reason=reason),
        )
    logger.warning("war room %s: %s", room.pk, reason)


def _enqueue_pin(room_id: int) -> None:
    from integrations.feishu.tasks import pin_war_room_card

    pin_war_room_card.delay(room_id)


def explain(exc: errors.FeishuError) -> str:
    """A refused room in words an admin can act on (``errors.explain``)."""
    return errors.explain(exc, doing=_("creating a group chat"), scopes="im:chat")


# --- Pinning the card, inviting later, the sweep --------------------------------------------


class CardNotSentYet(Exception):
    """The room's card has no message yet: pinning waits for the send."""


def pin_card(room_id: int) -> bool:
    """Pin the room's card (its current copy in the room: a resent card supersedes the first);
    False when there is nothing (more) to pin. Raises ``CardNotSentYet`` while the card is on
    its way, and ``errors.RateLimited`` / ``errors.TransientError`` to be tried again; a room
    whose pin is lost with its task (retries spent, a killed worker) is handed out again by
    ``hand_out_stalled``. Feishu's refusal is kept on the row (``pin_error``), and ends it."""
    room = WarRoom.objects.select_related("app").filter(pk=room_id, state=State.OPEN).first()
    if room is None or room.pinned_message_id or room.pin_error or room.chat_id is None:
        return False
    copy = (
        _cards_in(room.incident_id, room.app_id, room.chat_id)
        .filter(superseded_at__isnull=True)
        .order_by("-sent_at", "-id")
        .first()
    )
    if copy is None:
        raise CardNotSentYet(room_id)
    client = room.app.client()
    try:
        client.pin_message(copy.message_id)
    except (errors.RateLimited, errors.TransientError):
        raise
    except errors.FeishuError as exc:
        # The card is there, unpinned: worth a line on the row and in the log, not a failed room.
        logger.warning("war room %s: card not pinned: %s", room.pk, exc)
        _unpinned(room.pk).update(pin_error=str(exc)[:300])
        return False
    finally:
        client.session.close()
    # Pinned twice (a twin task) is still one pin: the first message recorded stays.
    return _unpinned(room.pk).update(pinned_message_id=copy.message_id) == 1


def _cards_in(incident_id: Any, app_id: Any, chat_id: Any) -> Any:
    """The copies of the incident's card sent to the room's chat (ids, or ``OuterRef``s)."""
    return SentCard.objects.filter(
        delivery__incident_id=incident_id, delivery__app_id=app_id, delivery__chat_id=chat_id
    )


def _unpinned(room_id: int) -> Any:
    return WarRoom.objects.filter(pk=room_id, pinned_message_id="", pin_error="")


def invite_later(room_id: int, user_ids: Sequence[int]) -> None:
    """Invite people to an open room (chosen after it opened, or newly notified)."""
    from django.contrib.auth import get_user_model

    room = _load(room_id)
    if room is None or room.state != State.OPEN or room.chat is None:
        return
    people = list(
        get_user_model()
        .objects.filter(pk__in=list(user_ids), is_active=True)
        .exclude(pk__in=room.invited_people.values("pk"))
    )
    if not people:
        return
    client = room.app.client()
    try:
        invitation = invite(client, room.app, room.chat.chat_id, people)
    finally:
        client.session.close()
    room.invited_people.add(*invitation.user_ids)  # once each, however many tasks add them
    message = phrase("war_room.invited", people=invitation.described())
    record(room.incident, TimelineEntry.Kind.WAR_ROOM, Actor.system(), message)


def invite_newly_notified(incident: Incident, app: FeishuApp, people: Sequence[Any]) -> None:
    """A later level notified ``people``: invite them to the incident's open room in ``app``
    (inside the escalation step's transaction; the invitation goes after commit)."""
    room = WarRoom.objects.filter(incident=incident, app=app, state=State.OPEN).first()
    if room is None:
        return
    invited = set(room.invited_people.values_list("pk", flat=True))
    ids = [p.pk for p in people if p.pk not in invited]
    if not ids:
        return
    transaction.on_commit(lambda: _enqueue_invite(room.pk, ids))


def hand_out_stalled(now: Any = None) -> int:
    """Hand out again the rooms whose opening task was lost (a killed worker): their uuid makes
    the second try find the chat the first one may have made; and the open rooms whose card
    was sent but is not pinned yet, nor refused a pin (the pinning task gave up waiting for the
    card, or was lost). Returns how many rooms were handed out."""
    now = now or timezone.now()
    stale = Q(updated_at__lt=now - STALLED_AFTER)
    card_sent = Exists(_cards_in(OuterRef("incident_id"), OuterRef("app_id"), OuterRef("chat_id")))
    unpinned = Q(state=State.OPEN, pinned_message_id="", pin_error="") & Q(card_sent)
    handed = {
        _enqueue_open: _take(WarRoom.objects.filter(stale, state=State.OPENING), now),
        _enqueue_pin: _take(WarRoom.objects.filter(stale & unpinned), now),
    }
    for enqueue, pks in handed.items():
        for pk in pks:
            enqueue(pk)
    return sum(len(pks) for pks in handed.values())


def _take(rooms: Any, now: Any) -> list[int]:
    """The rooms' ids, marked as handed out now (the next sweep leaves them a while)."""
    pks = list(rooms.values_list("pk", flat=True))
    WarRoom.objects.filter(pk__in=pks).update(updated_at=now)
    return pks


def give_up(room_id: int, exc: errors.FeishuError) -> None:
    """The task's last retry failed: the room is recorded as failed (and may be asked again)."""
    room = _load(room_id)
    if room is not None and room.state == State.OPENING:
        _failed(room, explain(exc))
