"""War rooms in DingTalk: a scene group (场景群) for one incident, made from the app's group
template (the guide's "Configure War Room": ``Template ID`` and ``Bot ID`` on the app), as
Feishu's war rooms are a group chat (``integrations.feishu.war_rooms``), through the same
offer and lifecycle mechanism and the same machinery (``integrations.chatkit.war_rooms``).

* **Asking** (``request``): a responder runs the incident's ``dingtalk_war_room`` action
  (``oncall.offers``: the card's button, the incident page,
  ``POST /api/v1/incidents/<id>/actions/dingtalk_war_room/``). That writes the
  ``DingTalkWarRoom`` row, under its unique constraint and a row lock, in the asking
  transaction, and hands the DingTalk call to a task after commit: a second request, or two at
  once, finds the first one's room.
* **Opening** (``open_room``, in a task): each member's userid, from their linked account or,
  where the link has none, from their mobile number (``topapi/v2/user/getbymobile``, which
  then fills the link in); the group made with DingTalk's ``uuid`` derived from the row (one
  group per uuid, so a retried or re-handed task makes one group), the requester (else the
  first member) its owner; the group recorded as one of the app's groups, with the template's
  group bot as its robot; the timeline written; and the incident's card posted there as one
  more ``DingTalkCardDelivery``, so every later change updates that copy like every other and
  its buttons work there as anywhere.
* **Members**: whoever asked, the claimer, everyone the escalation sent a card to, and the
  people chosen when asking. Who could not be invited is said on the timeline, with why.
* A room stuck opening (a lost task) is handed out again by ``hand_out_stalled``.

Whether any app has a group template is kept counted in the shared cache (``apps_in_use``, as
Feishu's count), so a console without DingTalk war rooms pays no query for the offer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.chatkit import war_rooms as kit
from integrations.chatkit.war_rooms import Invitation, RoomRefused, RoomWords
from integrations.dingtalk import escalation_targets
from integrations.dingtalk.client import errors
from integrations.dingtalk.client.open_api import DingTalkClient, SceneGroup
from integrations.dingtalk.models import (
    DingTalkAccount,
    DingTalkApp,
    DingTalkCardDelivery,
    DingTalkGroup,
    DingTalkWarRoom,
    Platform,
)
from integrations.dingtalk.timeline_words import unreachable
from oncall.counted import CountedInCache
from oncall.models import Incident
from oncall.timeline import display_name
from oncall.timeline_messages import Worded

logger = logging.getLogger(__name__)

KEY = "dingtalk_war_room"
State = DingTalkWarRoom.State
# The group name DingTalk shows; the scene group page gives no limit, the plain group's create
# page says 1-20 characters for its ``name``: the title is cut to that, which is always taken.
NAME_LIMIT = 20
NOT_FOUND_CODE = "60121"
ROOMS = "dingtalk_war_rooms"  # the related name of an incident's rooms


def has_template(app: DingTalkApp) -> bool:
    """Whether ``app`` can open war rooms: enabled, with a group template and its bot."""
    return bool(app.enabled and app.war_room_template_id and app.war_room_bot_id)


def room_name(incident: Incident) -> str:
    """``#<number> <title>``, cut to ``NAME_LIMIT``."""
    return kit.room_name(incident, NAME_LIMIT)


def group_link(app: DingTalkApp, open_conversation_id: str) -> str:
    """Where "DingTalk war room" leads, for the sandbox: its page of the group's cards. DingTalk
    documents no web address that opens a group in its client (its ``dingtalk://`` links are no
    web links, which the offers keep to), so a real room offers no link: it is in every
    member's chat list under its name, which the timeline and the action's answer say."""
    if app.platform != Platform.SANDBOX or not apps.is_installed("integrations.dingtalk_sandbox"):
        return ""
    query = urlencode({"group": open_conversation_id})
    return settings.PUBLIC_BASE_URL + reverse("dingtalk_sandbox:cards") + f"?{query}"


# --- Which apps have a group template ------------------------------------------------------------

APPS_KEY = "dingtalk:war-room-apps"


def _enabled_apps_with_a_template() -> list[int]:
    return list(
        DingTalkApp.objects.filter(enabled=True)
        .exclude(war_room_template_id="")
        .exclude(war_room_bot_id="")
        .order_by("pk")
        .values_list("pk", flat=True)
    )


# The ids of the enabled apps with a group template, forgotten on every save or delete of an app.
APPS_IN_USE = CountedInCache(APPS_KEY, _enabled_apps_with_a_template)


def app_for(incident: Incident) -> DingTalkApp | None:
    """The app that opens the incident's room: the only one with a group template, or else the
    one delivering the incident's cards (when it has one)."""
    ids = apps_in_use()
    if len(ids) == 1:
        return DingTalkApp.objects.filter(pk=ids[0], enabled=True).first()
    delivering = escalation_targets.delivering_app(incident.escalation_rule)
    return delivering if delivering is not None and delivering.pk in ids else None


# --- DingTalk's part of the machinery -----------------------------------------------------------


class DingTalkWarRooms(kit.WarRooms):
    key = KEY
    words = RoomWords(
        link=gettext_lazy("DingTalk war room"),
        action=gettext_lazy("Open a DingTalk war room"),
        no_app=gettext_lazy("No DingTalk app with a group template serves this incident."),
        opened=gettext_lazy(
            "The DingTalk war room “%(name)s” is open: it is in your DingTalk chat list."
        ),
        opening=gettext_lazy(
            "Opening the DingTalk war room: it appears in your DingTalk chats in a moment."
        ),
    )
    model = DingTalkWarRoom
    delivery_model = DingTalkCardDelivery
    group_field = "group"
    related_name = ROOMS
    loaded_with = ("app", "group", "incident", "incident__channel", "requested_by")
    transient_errors = (errors.RateLimited, errors.TransientError)
    permanent_error = errors.DingTalkError
    log_name = "DingTalk war room"
    apps = APPS_IN_USE

    def app_for(self, incident: Incident) -> DingTalkApp | None:
        return app_for(incident)

    def link(self, room: DingTalkWarRoom) -> str:
        return group_link(room.app, room.group.open_conversation_id)

    def make(self, room: DingTalkWarRoom) -> tuple[SceneGroup, Invitation]:
        """The members' userids, then the scene group from the app's template."""
        from integrations.dingtalk.cards.delivery import client_for

        app = room.app
        if not has_template(app):
            no_template = _("The DingTalk app %(app)s has no group template any more.")
            raise RoomRefused(no_template % {"app": app})
        client = client_for(app)
        invitation = invitation_for(client, app, self.members(room))
        owner = _owner(room, invitation)
        if owner is None:
            raise RoomRefused(no_owner_message(app))
        made = client.create_scene_group(
            template_id=app.war_room_template_id,
            title=room_name(room.incident),
            owner_user_id=owner,
            user_ids=list(invitation.user_ids.values()),
            uuid=room.create_uuid,
        )
        return made, invitation

    def keep(self, room: DingTalkWarRoom, made: SceneGroup) -> tuple[DingTalkGroup, dict[str, Any]]:
        """The group, with the template's group bot as its robot; DingTalk's chatid too."""
        group, _created = DingTalkGroup.objects.update_or_create(
            app=room.app,
            open_conversation_id=made.open_conversation_id,
            defaults={
                "name": room_name(room.incident),
                "status": DingTalkGroup.Status.ACTIVE,
                "scene_group": True,
                "robot_code": room.app.war_room_bot_id,
            },
        )
        return group, {"group": group, "chat_id": made.chat_id}

    def post_card(self, room: DingTalkWarRoom, group: DingTalkGroup) -> None:
        from integrations.dingtalk.cards import delivery

        delivery.notify(room.incident, room.app, [], [group])

    def invite(self, room: DingTalkWarRoom, chosen: Sequence[Any]) -> Invitation:
        """Add the people DingTalk knows to the scene group; its refusal is said on the
        timeline. Raises ``RateLimited`` / ``TransientError`` for the task to retry."""
        from integrations.dingtalk.cards.delivery import client_for

        client = client_for(room.app)
        invitation = invitation_for(client, room.app, chosen)
        if not invitation.user_ids:
            return invitation
        try:
            client.add_scene_group_members(
                room.group.open_conversation_id, list(invitation.user_ids.values())
            )
        except (errors.RateLimited, errors.TransientError):
            raise
        except errors.DingTalkError as exc:
            reason = errors.explain(exc, doing=gettext_lazy("adding people to the war room"))
            return Invitation({}, [], [*invitation.refused, *_refused_all(invitation, reason)])
        return invitation

    def explain(self, exc: Exception) -> str:
        return explain(exc)

    def tasks(self) -> Any:
        from integrations.dingtalk import tasks

        return tasks


WAR_ROOMS = DingTalkWarRooms()
apps_in_use = WAR_ROOMS.apps_in_use
request = WAR_ROOMS.request
outcome = WAR_ROOMS.outcome
open_room = WAR_ROOMS.open_room
invite_later = WAR_ROOMS.invite_later
hand_out_stalled = WAR_ROOMS.hand_out_stalled
give_up = WAR_ROOMS.give_up


def invite_newly_notified(incident: Incident, app: DingTalkApp, notified: Sequence[Any]) -> None:
    """A later level sent ``notified`` a card: invite them to the incident's open room in
    ``app`` (inside the escalation step's transaction; the invitation goes after commit). No
    query while no app has a group template."""
    if notified and app.pk in apps_in_use():
        WAR_ROOMS.invite_newly_notified(incident, app, notified)


# --- What the incident offers (oncall.offers) ----------------------------------------------------


class WarRoomOffers(kit.WarRoomOffers):
    """``oncall.offers.OfferProvider`` (``DingTalkPlatform.offer_providers``): "Open a DingTalk
    war room" while the incident has none (or the last attempt failed), the sandbox's link to
    the group once it has one. No query while no app has a group template (``apps_in_use``);
    otherwise one for the room, and where several apps have one, the look-up of the app that
    serves the incident."""

    rooms = WAR_ROOMS


# --- Opening it: DingTalk's calls ---------------------------------------------------------------


def invitation_for(client: DingTalkClient, app: DingTalkApp, chosen: Sequence[Any]) -> Invitation:
    """Each person's userid in ``app``'s organisation: from their linked account, or where it
    has none, found by the mobile number on it (and kept on it, so their cards reach them
    too). Raises ``RateLimited`` / ``TransientError`` to be tried again."""
    accounts = {
        account.user_id: account
        for account in DingTalkAccount.objects.filter(app=app, user__in=[p.pk for p in chosen])
    }
    user_ids: dict[int, str] = {}
    names: list[str] = []
    refused: list[Any] = []
    for person in chosen:
        name = display_name(person)
        found, why = _user_id_of(client, app, accounts.get(person.pk))
        if why is None:
            user_ids[person.pk] = found
            names.append(name)
        else:
            refused.append(why(name))
    return Invitation(user_ids, names, refused)


def _user_id_of(
    client: DingTalkClient, app: DingTalkApp, account: DingTalkAccount | None
) -> tuple[str, Callable[[str], Worded] | None]:
    """(the userid and None, or "" and why not: a person's name in, the name and why out, in
    each reader's language on the timeline)."""
    if account is None:
        return "", partial(unreachable, "not_linked", app=str(app))
    if account.dingtalk_user_id:
        return account.dingtalk_user_id, None
    if not account.mobile:
        return "", partial(unreachable, "no_mobile")
    try:
        user_id = client.userid_by_mobile(account.mobile)
    except (errors.RateLimited, errors.TransientError):
        raise
    except errors.DingTalkError as exc:
        if exc.code == NOT_FOUND_CODE:
            return "", partial(unreachable, "mobile_not_found")
        reason = errors.explain(exc, doing=gettext_lazy("looking the person up by mobile"))
        return "", partial(unreachable, "refused", reason=reason)
    _keep_user_id(account, user_id)
    return user_id, None


def _keep_user_id(account: DingTalkAccount, user_id: str) -> None:
    """Fill the link's userid in (unless another link holds it: the group still takes them)."""
    try:
        with transaction.atomic():
            DingTalkAccount.objects.filter(pk=account.pk, dingtalk_user_id="").update(
                dingtalk_user_id=user_id
            )
    except IntegrityError:
        logger.warning(
            "DingTalk account %s: userid found by mobile is linked elsewhere", account.pk
        )


def _owner(room: DingTalkWarRoom, invitation: Invitation) -> str | None:
    """The group's owner: whoever asked, when DingTalk knows them; else the first member."""
    if room.requested_by_id in invitation.user_ids:
        return invitation.user_ids[room.requested_by_id]
    return next(iter(invitation.user_ids.values()), None)


def no_owner_message(app: DingTalkApp) -> str:
    return _(
        "Nobody could own the DingTalk group: none of the responders has a DingTalk userid in "
        "%(app)s. They link their accounts by signing in with DingTalk once, or an admin enters "
        "their mobile number on their linked account."
    ) % {"app": app}


def explain(exc: errors.DingTalkError) -> str:
    """A refused room in words an admin can act on (``errors.explain``)."""
    return errors.explain(exc, doing=gettext_lazy("creating the war room's scene group"))


def _refused_all(invitation: Invitation, reason: str) -> list[str]:
    return [unreachable("refused", name, reason=reason) for name in invitation.names]
