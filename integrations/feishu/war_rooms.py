"""War rooms: a Feishu group chat for one incident (the knowledge base's "Configure war room").

The machinery (asking, opening, members, inviting later, the sweep) is every platform's
(``integrations.chatkit.war_rooms``); this module holds Feishu's part:

* **Asking** (``request``): a responder runs the incident's "war_room" action (``oncall.offers``:
  the card's button, the incident page, ``POST /api/v1/incidents/<id>/actions/war_room/``), or
  an escalation rule whose option says so opens one with its first notification
  (``open_for_rule``).
* **Opening** (``open_room``, in a task): create the chat with Feishu's ``uuid`` derived from
  the row (one chat per uuid in 10 h, so a retried or re-handed task creates one chat), invite
  the members, record the chat as one of the bot's chats, write the timeline, and post the
  incident's card there as one more ``CardDelivery``: every later change updates that copy
  like every other one, and its buttons work there like anywhere. The card is then pinned
  (``pin_card``).
* **Members**: the bot and ``chatkit``'s members, each through their linked account in the app.
  Who could not be invited is said on the timeline, with why.
* A room stuck opening (a lost task), or whose card is sent but not pinned, is handed out again
  by ``hand_out_stalled``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.chatkit import war_rooms as kit
from integrations.chatkit.war_rooms import Invitation, RoomWords
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
from integrations.feishu.timeline_words import unreachable
from oncall.counted import CountedInCache
from oncall.events import Severity
from oncall.links import incident_url
from oncall.models import Incident
from oncall.timeline import Actor, display_name
from oncall.timeline_messages import Worded

logger = logging.getLogger(__name__)

KEY = "war_room"
State = WarRoom.State
# Feishu's group name limit (create chat: ``name``). 60 is the documented figure we rely on;
# a shorter name is always accepted.
NAME_LIMIT = 60


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
    return kit.room_name(incident, NAME_LIMIT)


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


# --- Feishu's part of the machinery ---------------------------------------------------------


class FeishuWarRooms(kit.WarRooms):
    key = KEY
    words = RoomWords(
        link=gettext_lazy("War room"),
        action=gettext_lazy("Open a war room"),
        no_app=gettext_lazy("No Feishu app with war rooms enabled serves this incident."),
        opened=gettext_lazy("The war room “%(name)s” is open."),
        opening=gettext_lazy("Opening the war room: its link appears on the incident in a moment."),
    )
    model = WarRoom
    delivery_model = CardDelivery
    group_field = "chat"
    related_name = ROOMS
    transient_errors = (errors.RateLimited, errors.TransientError)
    permanent_error = errors.FeishuError
    apps = APPS_IN_USE

    def app_for(self, incident: Incident) -> FeishuApp | None:
        return app_for(incident)

    def link(self, room: WarRoom) -> str:
        return chat_link(room.app, room.chat.chat_id)

    def make(self, room: WarRoom) -> tuple[str, Invitation]:
        """Create the chat (its id) and invite the members."""
        client = room.app.client()
        people = self.members(room)
        try:
            chat_id = client.create_chat(
                room_name(room.incident), _description(room.incident), [], room.create_uuid
            )
            return chat_id, invite(client, room.app, chat_id, people)
        finally:
            client.session.close()

    def keep(self, room: WarRoom, made: str) -> tuple[FeishuChat, dict[str, Any]]:
        chat, _created = FeishuChat.objects.update_or_create(
            app=room.app,
            chat_id=made,
            defaults={"name": room_name(room.incident), "status": FeishuChat.Status.ACTIVE},
        )
        return chat, {"chat": chat}

    def post_card(self, room: WarRoom, group: FeishuChat) -> None:
        from integrations.feishu.cards import delivery

        delivery.notify(room.incident, room.app, [], [group])
        transaction.on_commit(lambda: _enqueue_pin(room.pk))

    def invite(self, room: WarRoom, chosen: Sequence[Any]) -> Invitation:
        client = room.app.client()
        try:
            return invite(client, room.app, room.chat.chat_id, chosen)
        finally:
            client.session.close()

    def explain(self, exc: Exception) -> str:
        return explain(exc)

    def tasks(self) -> Any:
        from integrations.feishu import tasks

        return tasks

    def also_stalled(self, stale: Q) -> list[tuple[Callable[[int], None], Any]]:
        """The open rooms whose card was sent but is not pinned yet, nor refused a pin (the
        pinning task gave up waiting for the card, or was lost)."""
        card_sent = Exists(
            _cards_in(OuterRef("incident_id"), OuterRef("app_id"), OuterRef("chat_id"))
        )
        unpinned = Q(state=State.OPEN, pinned_message_id="", pin_error="") & Q(card_sent)
        return [(_enqueue_pin, WarRoom.objects.filter(stale & unpinned))]


WAR_ROOMS = FeishuWarRooms()
apps_in_use = WAR_ROOMS.apps_in_use
request = WAR_ROOMS.request
outcome = WAR_ROOMS.outcome
open_room = WAR_ROOMS.open_room
invite_later = WAR_ROOMS.invite_later
invite_newly_notified = WAR_ROOMS.invite_newly_notified
hand_out_stalled = WAR_ROOMS.hand_out_stalled
give_up = WAR_ROOMS.give_up


def prefetch_rooms(incidents: Any) -> Any:
    """``incidents`` (a queryset) with their rooms read along, for ``WAR_ROOMS.room_of``: one
    query for all, and none at all while no app has war rooms on."""
    if not WAR_ROOMS.in_use():
        return incidents
    return incidents.prefetch_related(Prefetch(ROOMS, queryset=WAR_ROOMS.rooms()))


# --- What the incident offers (oncall.offers) ----------------------------------------------------


class WarRoomOffers(kit.WarRoomOffers):
    """``oncall.offers.OfferProvider`` (``FeishuPlatform.offer_providers``): "Open a war room"
    while the incident has none (or the last attempt failed), the link "War room" once it has
    one. No query while no app has war rooms on (``apps_in_use``); otherwise one for the room
    (none when the caller prefetched ``feishu_war_rooms``: ``prefetch_rooms``), and for the
    action, where several apps have war rooms, the look-up of the one that serves the
    incident (``app_for``)."""

    rooms = WAR_ROOMS


# --- Rules that open rooms by themselves --------------------------------------------------------


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


# --- Opening it: Feishu's calls -----------------------------------------------------------------


def _description(incident: Incident) -> str:
    return f"{incident.channel.name} · {incident_url(incident)}"


def invite(client: Any, app: FeishuApp, chat_id: str, people: Iterable[Any]) -> Invitation:
    """Add ``people`` to the chat through their linked accounts (Feishu adds whom it can and
    lists the ids it could not: outside the app's availability, or unknown). Who was refused
    is named with why as a ``feishu.unreachable.*`` phrase: the timeline says it in each
    reader's language."""
    people = list(people)
    open_ids = dict(
        LinkedAccount.objects.filter(app=app, user__in=[p.pk for p in people]).values_list(
            "user_id", "open_id"
        )
    )
    refused_ids = (
        set(client.add_chat_members(chat_id, list(open_ids.values()))) if open_ids else set()
    )
    user_ids: dict[int, str] = {}
    invited: list[str] = []
    refused: list[str | Worded] = []
    for person in people:
        name = display_name(person)
        open_id = open_ids.get(person.pk)
        if open_id is None:
            refused.append(unreachable("not_linked", name, app=str(app)))
        elif open_id in refused_ids:
            refused.append(unreachable("not_added", name))
        else:
            invited.append(name)
            user_ids[person.pk] = open_id
    return Invitation(user_ids, invited, refused)


def _enqueue_pin(room_id: int) -> None:
    from integrations.feishu.tasks import pin_war_room_card

    pin_war_room_card.delay(room_id)


def explain(exc: errors.FeishuError) -> str:
    """A refused room in words an admin can act on (``errors.explain``)."""
    return errors.explain(exc, doing=_("creating a group chat"), scopes="im:chat")


# --- Pinning the card --------------------------------------------------------------------------


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
