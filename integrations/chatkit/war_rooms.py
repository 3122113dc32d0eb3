"""War rooms as every chat platform runs them: a group chat opened for one incident, the right
people invited, the incident's card posted there and kept live.

``WarRooms`` holds the machinery, the same for every platform:

* **Asking** (``request``): the row is written under its unique constraint (one per incident
  and app) and a row lock in the asking transaction, so that a second request, or two at once,
  finds the first one's room; the platform's calls go to a task after commit. A failed room is
  tried again, with its ``attempt`` bumped so that the platform's create ``uuid`` changes.
* **Opening** (``open_room``, in a task): the platform makes the group (``make``) and records
  it (``keep``); the row turns open, the invited people are kept, the timeline says who is in
  and who could not be invited, and the platform posts the card (``post_card``). A permanent
  refusal is recorded on the row and the timeline; named transient errors go up to the task.
* **Members** (``members``): whoever asked, the claimer, everyone the escalation sent a card to,
  the people chosen when asking: once each, in that order, active ones only.
* **Inviting later** (``invite_later``, ``invite_newly_notified``), the **sweep** that hands
  out again the rooms stuck opening (``hand_out_stalled``), and giving up (``give_up``).

A platform subclasses ``WarRooms`` with its models, field names, errors, words and API calls,
and ``WarRoomOffers`` (the incident's "Open a war room" action and "War room" link) with its
instance. Its war-room model subclasses ``war_room_models.WarRoomBase`` (the state, who asked
and via what, the people chosen and invited, the attempt, the last error, the times) and adds
``incident``, ``app`` and its group foreign key (named by the platform: ``chat``, ``group``).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.utils import timezone

from oncall.counted import CountedInCache
from oncall.models import Incident, TimelineEntry
from oncall.offers import ActionResult, OfferedAction, OfferedLink
from oncall.timeline import Actor, record
from oncall.timeline_messages import Phrase, Worded, people, phrase

logger = logging.getLogger(__name__)

# A room still opening after this long lost its task: the sweep hands it out again.
STALLED_AFTER = timedelta(minutes=2)


def room_name(incident: Incident, limit: int) -> str:
    """``#<number> <title>``, the title's white space folded, cut to ``limit`` characters."""
    name = f"#{incident.number} {' '.join(incident.title.split())}"
    return name if len(name) <= limit else name[: limit - 1] + "…"


@dataclass(frozen=True)
class Invitation:
    """Whom the room takes (the platform's id of each, by console user pk, in the members'
    order) with their names, and who could not be invited, with why."""

    user_ids: dict[int, str]
    names: list[str]
    refused: list[str | Worded]

    def described(self) -> Phrase | list[str]:
        """ "Alice, Bob; not invited: Carol (why)", for the timeline."""
        invited = people(list(self.names))
        if self.refused:
            return phrase("invited.refused", people=invited, refused=list(self.refused))
        return invited


class RoomRefused(Exception):
    """The room cannot be made, for a reason in words an admin can act on (``make`` raises it:
    the room is recorded as failed)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RoomWords:
    """A platform's words for its rooms (lazy: translated when said)."""

    link: Any  # the incident's link to an open room
    action: Any  # the incident's action that asks for one
    no_app: Any  # the action's answer when no app serves the incident
    opened: Any  # the action's answer once open, with ``%(name)s``
    opening: Any  # the action's answer while the task opens it


class WarRooms(ABC):
    """One platform's war rooms. The attributes name its pieces; the abstract methods are its
    API calls and records."""

    key: str  # the incident action's key (``oncall.offers``)
    words: RoomWords
    model: type[models.Model]  # the war-room model
    delivery_model: type[models.Model]  # its card deliveries (``chatkit.deliveries``)
    group_field: str  # the room's foreign key to the platform's group: "chat", "group"
    related_name: str  # the incident's rooms (for ``prefetch_related``)
    loaded_with: Sequence[str] = ("app", "incident", "incident__channel", "requested_by")
    # The platform's errors: transient ones go up to the task, which retries them.
    transient_errors: tuple[type[Exception], ...]
    permanent_error: type[Exception]
    log_name = "war room"
    apps: CountedInCache[Any]  # the ids of the enabled apps that open rooms

    # --- What the platform supplies ---------------------------------------------------------

    @abstractmethod
    def app_for(self, incident: Incident) -> Any:
        """The app that opens the incident's room, or None."""

    @abstractmethod
    def link(self, room: Any) -> str:
        """Where an open room's link leads ("": it offers none)."""

    @abstractmethod
    def make(self, room: Any) -> tuple[Any, Invitation]:
        """Make the room's group on the platform with its members, idempotent per
        ``room.create_uuid``: (what the platform answered, who is in). Raises ``RoomRefused``,
        or the platform's errors."""

    @abstractmethod
    def keep(self, room: Any, made: Any) -> tuple[Any, dict[str, Any]]:
        """Record the made group as one of the app's (in the opening transaction): (the group
        row, the room's fields that point at it)."""

    @abstractmethod
    def post_card(self, room: Any, group: Any) -> None:
        """Post the incident's card in the open room (in the opening transaction)."""

    @abstractmethod
    def invite(self, room: Any, chosen: Sequence[Any]) -> Invitation:
        """Add ``chosen`` to the open room; who could not be added is in the answer. The
        platform's errors go up to the task."""

    @abstractmethod
    def explain(self, exc: Exception) -> str:
        """A refusal of the platform in words an admin can act on."""

    @abstractmethod
    def tasks(self) -> Any:
        """The platform's tasks module, with ``open_war_room(room_id)`` and
        ``invite_to_war_room(room_id, user_ids)`` (imported when called: it imports the
        platform's war rooms)."""

    def also_stalled(self, stale: Q) -> list[tuple[Callable[[int], None], Any]]:
        """More rooms the sweep hands out, and to what (``stale``: not handed out lately)."""
        return []

    def enqueue_open(self, room_id: int) -> None:
        self.tasks().open_war_room.delay(room_id)

    def enqueue_invite(self, room_id: int, user_ids: list[int]) -> None:
        self.tasks().invite_to_war_room.delay(room_id, user_ids)

    # --- Which apps open rooms, which room an incident has ------------------------------

    def apps_in_use(self) -> list[int]:
        """The ids of the enabled apps that open rooms (a query only when not counted yet)."""
        return list(self.apps.get())

    def in_use(self) -> bool:
        return bool(self.apps_in_use())

    def rooms(self) -> Any:
        """The rooms opening or open (not failed), with their app and group."""
        failed = self.model.State.FAILED
        return self.model.objects.exclude(state=failed).select_related("app", self.group_field)

    def room_of(self, incident: Incident) -> Any:
        """The incident's room, opening or open (not a failed one); from the prefetched rooms
        when the incident was read with them (``prefetch_related(related_name)``)."""
        prefetched = getattr(incident, "_prefetched_objects_cache", {}).get(self.related_name)
        rooms = prefetched if prefetched is not None else self.rooms().filter(incident=incident)[:1]
        return next((room for room in rooms if room.state != self.model.State.FAILED), None)

    def group_of(self, room: Any) -> Any:
        return getattr(room, self.group_field)

    # --- Asking for a room -------------------------------------------------------------------

    def request(
        self, incident: Incident, app: Any, actor: Actor, chosen: Sequence[Any] = ()
    ) -> Any:
        """The incident's room in ``app``: the existing one (people chosen now are invited to
        it), or a new one planned in this transaction and opened by a task after commit."""
        with transaction.atomic():
            room, planned = self._lock_or_create(incident, app, actor)
            if chosen:
                room.chosen_people.add(*chosen)
            if planned:
                message = phrase("war_room.requested", actor=actor.name)
                record(incident, TimelineEntry.Kind.WAR_ROOM, actor, message)
                transaction.on_commit(lambda: self.enqueue_open(room.pk))
            elif chosen and room.state == self.model.State.OPEN:
                ids = [person.pk for person in chosen]
                transaction.on_commit(lambda: self.enqueue_invite(room.pk, ids))
        return room

    def _lock_or_create(self, incident: Incident, app: Any, actor: Actor) -> tuple[Any, bool]:
        """(the row, locked; whether a room is to be opened now). A failed room is tried again."""
        fields = {"requested_by": actor.user, "requested_via": actor.source}
        try:
            with transaction.atomic():
                return self.model.objects.create(incident=incident, app=app, **fields), True
        except IntegrityError:
            pass  # asked for before, or by a concurrent request that committed first
        room = self.model.objects.select_for_update().get(incident=incident, app=app)
        if room.state != self.model.State.FAILED:
            return room, False
        room.state, room.attempt, room.last_error = self.model.State.OPENING, room.attempt + 1, ""
        room.requested_by, room.requested_via = actor.user, actor.source
        room.updated_at = timezone.now()
        room.save()
        return room, True

    def outcome(self, room: Any) -> ActionResult:
        """What asking for ``room`` did, in words for whoever asked (the room as it is now: the
        task may have opened it already)."""
        room.refresh_from_db()
        State = self.model.State
        if room.state == State.OPEN and getattr(room, f"{self.group_field}_id"):
            words = str(self.words.opened) % {"name": room.name}
            return ActionResult(True, words, self.link(room))
        if room.state == State.FAILED:
            return ActionResult(False, room.last_error)
        return ActionResult(True, str(self.words.opening))

    # --- Opening it (a task) ---------------------------------------------------------------

    def load(self, room_id: int) -> Any:
        return self.model.objects.select_related(*self.loaded_with).filter(pk=room_id).first()

    def members(self, room: Any) -> list[Any]:
        """Whoever asked, the claimer, everyone the escalation sent a card to, the people
        chosen: once each, in that order, active ones only."""
        incident = room.incident
        ids: list[int] = []
        ids += [room.requested_by_id] if room.requested_by_id else []
        ids += [incident.claimed_by_id] if incident.claimed_by_id else []
        ids += list(
            self.delivery_model.objects.filter(
                incident=incident, user__isnull=False, requested__gt=0
            )
            .order_by("created_at", "id")
            .values_list("user_id", flat=True)
        )
        ids += list(room.chosen_people.values_list("pk", flat=True))
        ordered = list(dict.fromkeys(ids))
        users = get_user_model().objects.in_bulk(ordered)
        return [users[pk] for pk in ordered if pk in users and users[pk].is_active]

    def open_room(self, room_id: int) -> None:
        """Make the room's group with its members and post the card there. Raises the
        platform's transient errors for the task to retry; a permanent refusal is recorded on
        the row and the timeline, in plain words."""
        room = self.load(room_id)
        if room is None or room.state != self.model.State.OPENING:
            return
        try:
            made, invitation = self.make(room)
        except self.transient_errors:
            raise
        except RoomRefused as refused:
            self.failed(room, refused.reason)
            return
        except self.permanent_error as exc:
            self.failed(room, self.explain(exc))
            return
        self.opened(room, made, invitation)

    def opened(self, room: Any, made: Any, invitation: Invitation) -> None:
        """The room is open: recorded, said on the timeline, and its card posted."""
        State = self.model.State
        with transaction.atomic():
            locked = self.model.objects.select_for_update().get(pk=room.pk)
            if locked.state != State.OPENING:
                return  # a twin task opened it first
            group, fields = self.keep(room, made)
            now = timezone.now()
            self.model.objects.filter(pk=room.pk).update(
                state=State.OPEN, name=group.name, opened_at=now, updated_at=now, **fields
            )
            locked.invited_people.add(*invitation.user_ids)
            message = phrase("war_room.opened", chat=group.name, people=invitation.described())
            record(room.incident, TimelineEntry.Kind.WAR_ROOM, asker(room), message)
            self.post_card(room, group)

    def failed(self, room: Any, reason: str) -> None:
        """The room could not be made: the row and the timeline say why."""
        with transaction.atomic():
            self.model.objects.filter(pk=room.pk).update(
                state=self.model.State.FAILED, last_error=reason, updated_at=timezone.now()
            )
            record(
                room.incident,
                TimelineEntry.Kind.WAR_ROOM,
                Actor.system(),
                phrase("war_room.failed", reason=reason),
            )
        logger.warning("%s %s: %s", self.log_name, room.pk, reason)

    def give_up(self, room_id: int, exc: Exception) -> None:
        """The task's last retry failed: the room is recorded as failed (and may be asked
        again)."""
        room = self.load(room_id)
        if room is not None and room.state == self.model.State.OPENING:
            self.failed(room, self.explain(exc))

    # --- Inviting later, the sweep -----------------------------------------------------------

    def invite_newly_notified(self, incident: Incident, app: Any, notified: Sequence[Any]) -> None:
        """A later level sent ``notified`` a card: invite them to the incident's open room in
        ``app`` (inside the escalation step's transaction; the invitation goes after commit)."""
        room = self.model.objects.filter(
            incident=incident, app=app, state=self.model.State.OPEN
        ).first()
        if room is None:
            return
        invited = set(room.invited_people.values_list("pk", flat=True))
        ids = [person.pk for person in notified if person.pk not in invited]
        if ids:
            transaction.on_commit(lambda: self.enqueue_invite(room.pk, ids))

    def invite_later(self, room_id: int, user_ids: Sequence[int]) -> None:
        """Invite people to an open room (chosen after it opened, or notified by a later
        level), once each however many tasks add them; the timeline says who is in."""
        room = self.load(room_id)
        if room is None or room.state != self.model.State.OPEN or self.group_of(room) is None:
            return
        chosen = list(
            get_user_model()
            .objects.filter(pk__in=list(user_ids), is_active=True)
            .exclude(pk__in=room.invited_people.values("pk"))
        )
        if not chosen:
            return
        invitation = self.invite(room, chosen)
        room.invited_people.add(*invitation.user_ids)
        message = phrase("war_room.invited", people=invitation.described())
        record(room.incident, TimelineEntry.Kind.WAR_ROOM, Actor.system(), message)

    def hand_out_stalled(self, now: Any = None) -> int:
        """Hand out again the rooms whose opening task was lost (a killed worker): their uuid
        makes the second try find the group the first one may have made; and what else the
        platform hands out (``also_stalled``). Returns how many rooms were handed out."""
        now = now or timezone.now()
        stale = Q(updated_at__lt=now - STALLED_AFTER)
        opening = self.model.objects.filter(stale, state=self.model.State.OPENING)
        handed = [(self.enqueue_open, self._take(opening, now))]
        handed += [(enqueue, self._take(rooms, now)) for enqueue, rooms in self.also_stalled(stale)]
        for enqueue, pks in handed:
            for pk in pks:
                enqueue(pk)
        return sum(len(pks) for _, pks in handed)

    def _take(self, rooms: Any, now: Any) -> list[int]:
        """The rooms' ids, marked as handed out now (the next sweep leaves them a while)."""
        pks = list(rooms.values_list("pk", flat=True))
        self.model.objects.filter(pk__in=pks).update(updated_at=now)
        return pks


def asker(room: Any) -> Actor:
    """Who asked for the room, as the timeline names them (the system for a rule)."""
    if room.requested_by is not None:
        return Actor(room.requested_by, room.requested_via or "system")
    return Actor.system()


class WarRoomOffers:
    """``oncall.offers.OfferProvider`` of a platform's war rooms (``rooms``): "Open a war room"
    while the incident has none (or the last attempt failed), the link to the room once it is
    open (where the platform has one). No query while no app opens rooms (``apps_in_use``);
    otherwise one for the room (none when the caller prefetched the rooms), and for the action,
    where several apps open rooms, the look-up of the one that serves the incident."""

    rooms: WarRooms

    def links(self, incident: Incident) -> list[OfferedLink]:
        # A sample card's incident (no pk) has no room.
        if incident.pk is None or not self.rooms.in_use():
            return []
        room = self.rooms.room_of(incident)
        State = self.rooms.model.State
        if room is None or room.state != State.OPEN or self.rooms.group_of(room) is None:
            return []
        url = self.rooms.link(room)
        return [OfferedLink(self.rooms.key, str(self.rooms.words.link), url)] if url else []

    def actions(self, incident: Incident) -> list[OfferedAction]:
        ids = self.rooms.apps_in_use() if incident.pk is not None else []
        if not ids or self.rooms.room_of(incident) is not None:
            return []
        # One app with rooms serves every incident; among several, the delivering one.
        if len(ids) > 1 and self.rooms.app_for(incident) is None:
            return []
        label = str(self.rooms.words.action)
        return [OfferedAction(self.rooms.key, label, icon="💬", takes_people=True)]

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if key != self.rooms.key:
            return None
        app = self.rooms.app_for(incident)
        if app is None:
            return ActionResult(False, str(self.rooms.words.no_app))
        # ``oncall.offers.run_action`` resolved them: active members of the channel.
        room = self.rooms.request(incident, app, actor, list(options.get("people") or []))
        return self.rooms.outcome(room)
