"""War rooms in DingTalk: a scene group (场景群) for one incident, made from the app's group
template (the guide's "Configure War Room": ``Template ID`` and ``Bot ID`` on the app), as
Feishu's war rooms are a group chat (``integrations.feishu.war_rooms``), through the same
offer and lifecycle mechanism.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integrations.chatkit.counted import CountedInCache
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
from oncall.models import Incident, TimelineEntry
from oncall.offers import ActionResult, OfferedAction, OfferedLink
from oncall.timeline import Actor, display_name, record
from oncall.timeline_messages import Phrase, Worded, people, phrase

logger = logging.getLogger(__name__)

KEY = "dingtalk_war_room"
State = DingTalkWarRoom.State
# The group name DingTalk shows; the scene group page gives no limit, the plain group's create
# page says 1-20 characters for its ``name``: the title is cut to that, which is always taken.
NAME_LIMIT = 20
# A room still opening after this long lost its task: the sweep hands it out again.
STALLED_AFTER = timedelta(minutes=2)
NOT_FOUND_CODE = "60121"
ROOMS = "dingtalk_war_rooms"  # the related name of an incident's rooms


def has_template(app: DingTalkApp) -> bool:
    """Whether ``app`` can open war rooms: enabled, with a group template and its bot."""
    return bool(app.enabled and app.war_room_template_id and app.war_room_bot_id)


def room_name(incident: Incident) -> str:
    """``#<number> <title>``, cut to ``NAME_LIMIT``."""
    name = f"#{incident.number} {' '.join(incident.title.split())}"
    return name if len(name) <= NAME_LIMIT else name[: NAME_LIMIT - 1] + "…"


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


def apps_in_use() -> list[int]:
    """The ids of the enabled apps with a group template (a query only when not counted yet)."""
    return list(APPS_IN_USE.get())


def in_use() -> bool:
    return bool(apps_in_use())


def app_for(incident: Incident) -> DingTalkApp | None:
    """The app that opens the incident's room: the only one with a group template, or else the
    one delivering the incident's cards (when it has one)."""
    ids = apps_in_use()
    if len(ids) == 1:
        return DingTalkApp.objects.filter(pk=ids[0], enabled=True).first()
    delivering = escalation_targets.delivering_app(incident.escalation_rule)
    return delivering if delivering is not None and delivering.pk in ids else None


def room_of(incident: Incident) -> DingTalkWarRoom | None:
    """The incident's room, opening or open (not a failed one)."""
    prefetched = getattr(incident, "_prefetched_objects_cache", {}).get(ROOMS)
    rooms = (
        prefetched
        if prefetched is not None
        else DingTalkWarRoom.objects.exclude(state=State.FAILED)
        .select_related("app", "group")
        .filter(incident=incident)[:1]
    )
    return next((room for room in rooms if room.state != State.FAILED), None)


# --- What the incident offers (oncall.offers) ----------------------------------------------------


class WarRoomOffers:
    """``oncall.offers.OfferProvider`` (``DingTalkPlatform.offer_providers``): "Open a DingTalk
    war room" while the incident has none (or the last attempt failed), the sandbox's link to
    the group once it has one. No query while no app has a group template (``apps_in_use``);
    otherwise one for the room, and where several apps have one, the look-up of the app that
    serves the incident."""

    def links(self, incident: Incident) -> list[OfferedLink]:
        if incident.pk is None or not in_use():
            return []
        room = room_of(incident)
        if room is None or room.state != State.OPEN or room.group is None:
            return []
        url = group_link(room.app, room.group.open_conversation_id)
        return [OfferedLink(KEY, _("DingTalk war room"), url)] if url else []

    def actions(self, incident: Incident) -> list[OfferedAction]:
        ids = apps_in_use() if incident.pk is not None else []
        if not ids or room_of(incident) is not None:
            return []
        if len(ids) > 1 and app_for(incident) is None:
            return []
        return [OfferedAction(KEY, _("Open a DingTalk war room"), icon="💬", takes_people=True)]

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if key != KEY:
            return None
        app = app_for(incident)
        if app is None:
            return ActionResult(
                False, _("No DingTalk app with a group template serves this incident.")
            )
        room = request(incident, app, actor, list(options.get("people") or []))
        return outcome(room)


def outcome(room: DingTalkWarRoom) -> ActionResult:
    """What asking for ``room`` did, in words for whoever asked."""
    room.refresh_from_db()
    if room.state == State.OPEN and room.group_id:
        url = group_link(room.app, room.group.open_conversation_id)
        words = _("The DingTalk war room “%(name)s” is open: it is in your DingTalk chat list.") % {
            "name": room.name
        }
        return ActionResult(True, words, url)
    if room.state == State.FAILED:
        return ActionResult(False, room.last_error)
    return ActionResult(
        True, _("Opening the DingTalk war room: it appears in your DingTalk chats in a moment.")
    )


# --- Asking for a room ---------------------------------------------------------------------------


def request(
    incident: Incident, app: DingTalkApp, actor: Actor, chosen: Sequence[Any] = ()
) -> DingTalkWarRoom:
    """The incident's room in ``app``: the existing one, or a new one planned in this
    transaction and opened by a task after commit."""
    with transaction.atomic():
        room, planned = _lock_or_create(incident, app, actor)
        if chosen:
            room.chosen_people.add(*chosen)
        if planned:
            record(
                incident,
                TimelineEntry.Kind.WAR_ROOM,
                actor,
                phrase("war_room.requested", actor=actor.name),
            )
            transaction.on_commit(lambda: _enqueue_open(room.pk))
        elif chosen and room.state == State.OPEN:
            ids = [person.pk for person in chosen]
            transaction.on_commit(lambda: _enqueue_invite(room.pk, ids))
    return room


def _lock_or_create(
    incident: Incident, app: DingTalkApp, actor: Actor
) -> tuple[DingTalkWarRoom, bool]:
    """(the row, locked; whether a room is to be opened now). A failed room is tried again."""
    fields = {"requested_by": actor.user, "requested_via": actor.source}
    try:
        with transaction.atomic():
            return DingTalkWarRoom.objects.create(incident=incident, app=app, **fields), True
    except IntegrityError:
        pass  # asked for before, or by a concurrent request that committed first
    room = DingTalkWarRoom.objects.select_for_update().get(incident=incident, app=app)
    if room.state != State.FAILED:
        return room, False
    room.state, room.attempt, room.last_error = State.OPENING, room.attempt + 1, ""
    room.requested_by, room.requested_via = actor.user, actor.source
    room.updated_at = timezone.now()
    room.save()
    return room, True


def _enqueue_open(room_id: int) -> None:
    from integrations.dingtalk.tasks import open_war_room

    open_war_room.delay(room_id)


def _enqueue_invite(room_id: int, user_ids: list[int]) -> None:
    from integrations.dingtalk.tasks import invite_to_war_room

    invite_to_war_room.delay(room_id, user_ids)


# --- Opening it (a task) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Invitation:
    """Whom the group takes (userids by console user pk, in order) and who could not be
    invited, with why."""

    user_ids: dict[int, str]
    names: list[str]
    refused: list[str]

    def described(self) -> Phrase | list[str]:
        invited = people(list(self.names))
        if self.refused:
            return phrase("invited.refused", people=invited, refused=list(self.refused))
        return invited


def open_room(room_id: int, *, client: DingTalkClient | None = None) -> None:
    """Make the room's scene group and post the card there. Raises ``errors.RateLimited`` /
    ``errors.TransientError`` for the task to retry; a permanent refusal is recorded on the
    row and the timeline, in plain words."""
    from integrations.dingtalk.cards.delivery import client_for

    room = _load(room_id)
    if room is None or room.state != State.OPENING:
        return
    app = room.app
    if not has_template(app):
        _failed(room, _("The DingTalk app %(app)s has no group template any more.") % {"app": app})
        return
    client = client or client_for(app)
    try:
        invitation = invitation_for(client, app, members(room))
        owner = _owner(room, invitation)
        if owner is None:
            _failed(room, no_owner_message(app))
            return
        group = client.create_scene_group(
            template_id=app.war_room_template_id,
            title=room_name(room.incident),
            owner_user_id=owner,
            user_ids=list(invitation.user_ids.values()),
            uuid=room.create_uuid,
        )
    except (errors.RateLimited, errors.TransientError):
        raise
    except errors.DingTalkError as exc:
        _failed(room, explain(exc))
        return
    _opened(room, group, invitation)


def _load(room_id: int) -> DingTalkWarRoom | None:
    return (
        DingTalkWarRoom.objects.select_related(
            "app", "group", "incident", "incident__channel", "requested_by"
        )
        .filter(pk=room_id)
        .first()
    )


def members(room: DingTalkWarRoom) -> list[Any]:
    """Whoever asked, the claimer, everyone the escalation sent a card to, the people chosen:
    once each, in that order, active ones only."""
    from django.contrib.auth import get_user_model

    incident = room.incident
    ids: list[int] = []
    ids += [room.requested_by_id] if room.requested_by_id else []
    ids += [incident.claimed_by_id] if incident.claimed_by_id else []
    ids += list(
        DingTalkCardDelivery.objects.filter(incident=incident, user__isnull=False, requested__gt=0)
        .order_by("created_at", "id")
        .values_list("user_id", flat=True)
    )
    ids += list(room.chosen_people.values_list("pk", flat=True))
    ordered = list(dict.fromkeys(ids))
    users = get_user_model().objects.in_bulk(ordered)
    return [users[pk] for pk in ordered if pk in users and users[pk].is_active]


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
    refused: list[str] = []
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


def _opened(room: DingTalkWarRoom, made: SceneGroup, invitation: Invitation) -> None:
    from integrations.dingtalk.cards import delivery

    incident = room.incident
    app = room.app
    with transaction.atomic():
        locked = DingTalkWarRoom.objects.select_for_update().get(pk=room.pk)
        if locked.state != State.OPENING:
            return  # a twin task opened it first
        group, _created = DingTalkGroup.objects.update_or_create(
            app=app,
            open_conversation_id=made.open_conversation_id,
            defaults={
                "name": room_name(incident),
                "status": DingTalkGroup.Status.ACTIVE,
                "scene_group": True,
                "robot_code": app.war_room_bot_id,
            },
        )
        now = timezone.now()
        DingTalkWarRoom.objects.filter(pk=room.pk).update(
            state=State.OPEN,
            group=group,
            chat_id=made.chat_id,
            name=group.name,
            opened_at=now,
            updated_at=now,
        )
        locked.invited_people.add(*invitation.user_ids)
        message = phrase("war_room.opened", chat=group.name, people=invitation.described())
        record(incident, TimelineEntry.Kind.WAR_ROOM, _asker(room), message)
        delivery.notify(incident, app, [], [group])


def _asker(room: DingTalkWarRoom) -> Actor:
    if room.requested_by is not None:
        return Actor(room.requested_by, room.requested_via or "system")
    return Actor.system()


def _failed(room: DingTalkWarRoom, reason: str) -> None:
    with transaction.atomic():
        DingTalkWarRoom.objects.filter(pk=room.pk).update(
            state=State.FAILED, last_error=reason, updated_at=timezone.now()
        )
        record(
            room.incident,
            TimelineEntry.Kind.WAR_ROOM,
            Actor.system(),
            phrase("war_room.failed", reason=reason),
        )
    logger.warning("DingTalk war room %s: %s", room.pk, reason)


def explain(exc: errors.DingTalkError) -> str:
    """A refused room in words an admin can act on (``errors.explain``)."""
    return errors.explain(exc, doing=gettext_lazy("creating the war room's scene group"))


def give_up(room_id: int, exc: errors.DingTalkError) -> None:
    """The task's last retry failed: the room is recorded as failed (and may be asked again)."""
    room = _load(room_id)
    if room is not None and room.state == State.OPENING:
        _failed(room, explain(exc))


# --- Inviting later --------------------------------------------------------------------------


def invite_newly_notified(incident: Incident, app: DingTalkApp, notified: Sequence[Any]) -> None:
    """A later level sent ``notified`` a card: invite them to the incident's open room in
    ``app`` (inside the escalation step's transaction; the invitation goes after commit). No
    query while no app has a group template."""
    if not notified or app.pk not in apps_in_use():
        return
    room = DingTalkWarRoom.objects.filter(incident=incident, app=app, state=State.OPEN).first()
    if room is None:
        return
    invited = set(room.invited_people.values_list("pk", flat=True))
    ids = [person.pk for person in notified if person.pk not in invited]
    if ids:
        transaction.on_commit(lambda: _enqueue_invite(room.pk, ids))


def invite_later(room_id: int, user_ids: Sequence[int], *, client: Any = None) -> None:
    """Add people to an open room (chosen after it opened, or notified by a later level).
    Raises ``RateLimited`` / ``TransientError`` for the task to retry; DingTalk's refusal is
    said on the timeline."""
    from django.contrib.auth import get_user_model

    from integrations.dingtalk.cards.delivery import client_for

    room = _load(room_id)
    if room is None or room.state != State.OPEN or room.group is None:
        return
    chosen = list(
        get_user_model()
        .objects.filter(pk__in=list(user_ids), is_active=True)
        .exclude(pk__in=room.invited_people.values("pk"))
    )
    if not chosen:
        return
    client = client or client_for(room.app)
    invitation = invitation_for(client, room.app, chosen)
    if invitation.user_ids:
        try:
            client.add_scene_group_members(
                room.group.open_conversation_id, list(invitation.user_ids.values())
            )
        except (errors.RateLimited, errors.TransientError):
            raise
        except errors.DingTalkError as exc:
            reason = errors.explain(exc, doing=gettext_lazy("adding people to the war room"))
            invitation = Invitation(
                {}, [], [*invitation.refused, *_refused_all(invitation, reason)]
            )
    room.invited_people.add(*invitation.user_ids)  # once each, however many tasks add them
    message = phrase("war_room.invited", people=invitation.described())
    record(room.incident, TimelineEntry.Kind.WAR_ROOM, Actor.system(), message)


def _refused_all(invitation: Invitation, reason: str) -> list[str]:
    return [unreachable("refused", name, reason=reason) for name in invitation.names]


def hand_out_stalled(now: Any = None) -> int:
    """Hand out again the rooms whose opening task was lost (a killed worker): their uuid makes
    the second try find the group the first one may have made. Returns how many."""
    now = now or timezone.now()
    stalled = DingTalkWarRoom.objects.filter(
        state=State.OPENING, updated_at__lt=now - STALLED_AFTER
    )
    pks = list(stalled.values_list("pk", flat=True))
    DingTalkWarRoom.objects.filter(pk__in=pks).update(updated_at=now)
    for pk in pks:
        _enqueue_open(pk)
    return len(pks)
