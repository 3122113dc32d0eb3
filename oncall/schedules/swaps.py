"""Shift swaps: the one service every surface (pages, API, chat commands) goes through.

* **Asking**: a person gives away time they are on call for in a schedule's final shifts: a
  whole upcoming shift or a part of it (the rest of one under way), ending within
  :data:`ASK_HORIZON`, in one piece (several shifts: several requests). Time covered by an
  override (including one a swap made) cannot be given away here: an admin changes overrides.
  Someone with an open request for overlapping time of the same schedule is told so instead of
  asking twice.
* **Who may take**: every active participant of the schedule's layers other than the
  requester: the people who share the rotation, and so know the work. Whoever else should
  cover is put in by an admin with an override.
* **Taking** locks the request's row (and then the schedule's, so that two swaps of one
  schedule make their overrides one after the other), checks again that the time is still the
  requester's and free of overrides, and creates the override for the taker, with a note saying
  it is a swap and who agreed. Taking twice, or two people at once, gives one override: the
  others are told who was first.
* **Expiry**: a request can be taken until its end; taken after its start, the taker takes
  the rest of it (the requester has been on call until then: "someone take the rest of my
  shift" is the common case). Once its end has passed it is marked expired when anyone next
  looks at it.
* **Cancelling**: only the requester, only while it is open.
* **Notices**: a new request goes to everyone who may take it, a taken one to the requester,
  through every chat platform (``send_notice``: a direct message on Feishu).

Refusals raise :class:`SwapRefused` with a stable ``code`` and a message for the person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from oncall.models import LayerParticipant, Schedule, ScheduleOverride, ShiftSwap
from oncall.platforms import platforms
from oncall.schedules import resolve
from oncall.schedules.rotation import Shift
from oncall.timeline import display_name

Status = ShiftSwap.Status

# How far ahead "my upcoming shifts" reach on the page and in the API's checks.
ASK_HORIZON = timedelta(days=90)
OVERRIDE_NOTE_MAX_CHARS = ScheduleOverride._meta.get_field("note").max_length
NAME_IN_NOTE_MAX_CHARS = 40

Kind = Literal["invalid", "conflict", "forbidden"]


class SwapRefused(Exception):
    """Why a swap cannot be asked, taken or cancelled. ``kind`` says whose fault it is: the
    request's (``invalid``), the state's (``conflict``: someone was first, the time passed) or
    the person's (``forbidden``)."""

    def __init__(self, code: str, message: str, kind: Kind = "conflict") -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.kind = kind


# --- Who -----------------------------------------------------------------------------------------


def participant_ids(schedule: Schedule | int) -> set[int]:
    """The active people in the turn order of any of the schedule's layers."""
    schedule_id = schedule.pk if isinstance(schedule, Schedule) else schedule
    return set(
        LayerParticipant.objects.filter(
            layer__schedule_id=schedule_id, user__is_active=True
        ).values_list("user_id", flat=True)
    )


def _participates(user: Any) -> Q:
    """A condition on swaps: their schedule has ``user`` in a layer."""
    return Q(
        Exists(
            LayerParticipant.objects.filter(
                layer__schedule_id=OuterRef("schedule_id"), user_id=user.pk
            )
        )
    )


def may_take(swap: ShiftSwap, user: Any, participants: set[int] | None = None) -> bool:
    if not user.is_authenticated or not user.is_active or user.pk == swap.requester_id:
        return False
    return user.pk in (
        participants if participants is not None else participant_ids(swap.schedule_id)
    )


def takeable_by(user: Any, now: datetime | None = None) -> QuerySet[ShiftSwap]:
    """Open requests ``user`` may take, soonest first."""
    expire_passed(now)
    return (
        # A deactivated requester's turns are gaps: their requests cannot be taken.
        ShiftSwap.objects.filter(_participates(user), status=Status.OPEN, requester__is_active=True)
        .exclude(requester_id=user.pk)
        .select_related("schedule", "requester")
        .order_by("start", "id")
    )


# --- Asking --------------------------------------------------------------------------------------


def upcoming_shifts(schedule: Schedule, user: Any, now: datetime | None = None) -> list[Shift]:
    """``user``'s final shifts of ``schedule`` from now (the one under way cut at now) that
    they could give away: not through an override, and ending within :data:`ASK_HORIZON`."""
    now = now or timezone.now()
    horizon = now + ASK_HORIZON
    shifts = resolve.final(schedule, now, horizon)
    return [s for s in shifts if s.user == user.pk and s.override is None and s.end < horizon]


def ask(
    schedule: Schedule,
    requester: Any,
    start: datetime,
    end: datetime,
    note: str = "",
    now: datetime | None = None,
) -> ShiftSwap:
    now = now or timezone.now()
    if end <= start:
        raise SwapRefused("invalid_period", _("The end must be after the start."), "invalid")
    if end <= now:
        raise SwapRefused(
            "in_the_past", _("That time has passed: give away time from now on."), "invalid"
        )
    # A period that has begun gives away its rest (the page's "the rest of my shift", an API
    # client's "from now", both a moment old when they arrive).
    start = max(start, now)
    if end > now + ASK_HORIZON:
        # Also bounds the arithmetic a request costs (the final shifts of its period).
        raise SwapRefused(
            "too_far",
            _("Swaps are for the next %(days)s days: ask for a period that ends before then.")
            % {"days": ASK_HORIZON.days},
            "invalid",
        )
    with transaction.atomic():
        Schedule.objects.select_for_update().filter(pk=schedule.pk).first()
        _refuse_unless_on_call(schedule, requester, start, end)
        expire_passed(now)
        earlier = ShiftSwap.objects.filter(
            schedule=schedule,
            requester=requester,
            status=Status.OPEN,
            start__lt=end,
            end__gt=start,
        ).first()
        if earlier is not None:
            raise SwapRefused(
                "already_asked",
                _("You already asked to give away %(period)s (request #%(number)s).")
                % {
                    "period": period_text(schedule, earlier.start, earlier.end),
                    "number": earlier.pk,
                },
            )
        swap = ShiftSwap.objects.create(
            schedule=schedule,
            requester=requester,
            start=start,
            end=end,
            note=note.strip(),
            created_at=now,
        )
        _tell_the_others(swap)
        return swap


def _refuse_unless_on_call(schedule: Schedule, person: Any, start: datetime, end: datetime) -> None:
    """Refuses unless ``person`` is on call through the layers for all of ``[start, end)``
    and no override touches it."""
    _refuse_if_overridden(schedule, start, end)
    shifts = resolve.final(schedule, start, end)
    covered = start
    for shift in shifts:
        if shift.user != person.pk or shift.start > covered:
            break
        covered = shift.end
    if covered < end:
        raise SwapRefused(
            "not_on_call",
            _("%(person)s is not on call for all of %(period)s in %(schedule)s.")
            % {
                "person": display_name(person),
                "period": period_text(schedule, start, end),
                "schedule": schedule.name,
            },
        )


def _refuse_if_overridden(schedule: Schedule, start: datetime, end: datetime) -> None:
    clash = (
        ScheduleOverride.objects.filter(schedule=schedule, start__lt=end, end__gt=start)
        .select_related("user")
        .order_by("start", "id")
        .first()
    )
    if clash is not None:
        raise SwapRefused(
            "override_exists",
            _("%(person)s's override from %(period)s already covers part of this time.")
            % {
                "person": display_name(clash.user),
                "period": period_text(schedule, clash.start, clash.end),
            },
        )


# --- Taking and cancelling -----------------------------------------------------------------------


@dataclass(frozen=True)
class Taken:
    swap: ShiftSwap
    override: ScheduleOverride


def take(swap: ShiftSwap | int, taker: Any, now: datetime | None = None) -> Taken:
    """``taker`` takes the request: an override puts them in for its time."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(swap)
        _refuse_unless_open(locked, now)
        if taker.pk == locked.requester_id:
            raise SwapRefused("own_request", _("You cannot take your own request."), "forbidden")
        if not may_take(locked, taker):
            raise SwapRefused(
                "not_participant",
                _("Only the people of %(schedule)s's rotations may take its shifts.")
                % {"schedule": locked.schedule.name},
                "forbidden",
            )
        # Two swaps of one schedule make their overrides one after the other.
        Schedule.objects.select_for_update().filter(pk=locked.schedule_id).first()
        start = max(locked.start, now)  # a request under way: the rest of it
        _refuse_unless_on_call(locked.schedule, locked.requester, start, locked.end)
        override = ScheduleOverride.objects.create(
            schedule=locked.schedule,
            user=taker,
            start=start,
            end=locked.end,
            note=override_note(locked.requester, taker),
            created_by=taker,
            created_at=now,
        )
        locked.status, locked.taken_by, locked.taken_at = Status.TAKEN, taker, now
        locked.override, locked.closed_at = override, now
        locked.save(update_fields=["status", "taken_by", "taken_at", "override", "closed_at"])
        _tell_the_requester(locked, override)
    return Taken(locked, override)


def cancel(swap: ShiftSwap | int, person: Any, now: datetime | None = None) -> ShiftSwap:
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(swap)
        if person.pk != locked.requester_id:
            raise SwapRefused(
                "not_requester", _("Only the person who asked may cancel it."), "forbidden"
            )
        _refuse_unless_open(locked, now)
        locked.status, locked.closed_at = Status.CANCELLED, now
        locked.save(update_fields=["status", "closed_at"])
    return locked


def _lock(swap: ShiftSwap | int) -> ShiftSwap:
    pk = swap.pk if isinstance(swap, ShiftSwap) else swap
    # The row alone: after waiting for another taker's lock, PostgreSQL re-reads the locked
    # row but not the rows joined to it, so a joined ``taken_by`` would still be the old
    # (empty) one. The related rows are read afterwards, by statements that see the winner.
    return ShiftSwap.objects.select_for_update().get(pk=pk)


def _refuse_unless_open(swap: ShiftSwap, now: datetime) -> None:
    if swap.status == Status.TAKEN:
        raise SwapRefused(
            "already_taken",
            _("Already taken by %(person)s at %(when)s.")
            % {
                "person": display_name(swap.taken_by),
                "when": moment_text(swap.schedule, swap.taken_at),
            },
        )
    if swap.status == Status.CANCELLED:
        raise SwapRefused(
            "cancelled",
            _("%(person)s cancelled this request.") % {"person": display_name(swap.requester)},
        )
    if swap.status == Status.EXPIRED or swap.end <= now:
        raise SwapRefused("expired", _("This request has expired: its time is over."))


def expire_passed(now: datetime | None = None) -> int:
    """Marks the open requests whose end has passed as expired."""
    now = now or timezone.now()
    return ShiftSwap.objects.filter(status=Status.OPEN, end__lte=now).update(
        status=Status.EXPIRED, closed_at=now
    )


# --- Notices -------------------------------------------------------------------------------------
#
# Through every chat platform's ``send_notice``, inside the change's transaction (the platforms
# send after commit). Keys are short: a platform may add the person to make its own.


def _tell_the_others(swap: ShiftSwap) -> None:
    """The request, to everyone who may take it."""
    others = list(
        get_user_model().objects.filter(
            pk__in=participant_ids(swap.schedule_id) - {swap.requester_id}
        )
    )
    if not others:
        return
    with translation.override(settings.LANGUAGE_CODE):
        text = _(
            "%(person)s asks someone to take %(schedule)s, %(period)s (request #%(number)s). "
            "Take it at %(url)s"
        ) % {
            "person": display_name(swap.requester),
            "schedule": swap.schedule.name,
            "period": period_text(swap.schedule, swap.start, swap.end),
            "number": swap.pk,
            "url": swaps_url(swap.schedule),
        }
    if swap.note:
        text += f"\n“{swap.note}”"
    _send(others, text, f"sw-{swap.public_id.hex}-a")


def _tell_the_requester(swap: ShiftSwap, override: ScheduleOverride) -> None:
    with translation.override(settings.LANGUAGE_CODE):
        text = _(
            "%(person)s took your shift of %(schedule)s, %(period)s: they are on call then "
            "instead of you."
        ) % {
            "person": display_name(swap.taken_by),
            "schedule": swap.schedule.name,
            "period": period_text(swap.schedule, override.start, override.end),
        }
    _send([swap.requester], text, f"sw-{swap.public_id.hex}-t")


def _send(people: list[Any], text: str, key: str) -> None:
    for platform in platforms():
        platform.send_notice(people, text, key=key)


def swaps_url(schedule: Schedule) -> str:
    return settings.PUBLIC_BASE_URL + reverse("schedule-swaps", args=[schedule.public_id])


# --- Wording -------------------------------------------------------------------------------------


def override_note(requester: Any, taker: Any) -> str:
    """ "Swap: Bob takes Alice's shift, asked by Alice, agreed by Bob", in the console's
    language (it is stored, and read by everyone)."""
    asked, agreed = _short_name(requester), _short_name(taker)
    with translation.override(settings.LANGUAGE_CODE):
        note = _(
            "Swap: %(taker)s takes %(requester)s's shift, asked by %(requester)s, agreed by "
            "%(taker)s"
        ) % {
            "taker": agreed,
            "requester": asked,
        }
    return note[:OVERRIDE_NOTE_MAX_CHARS]


def _short_name(user: Any) -> str:
    name = display_name(user)
    return name if len(name) <= NAME_IN_NOTE_MAX_CHARS else name[: NAME_IN_NOTE_MAX_CHARS - 1] + "…"


def moment_text(schedule: Schedule, moment: datetime | None) -> str:
    if moment is None:
        return "?"
    return moment.astimezone(ZoneInfo(schedule.time_zone)).strftime("%Y-%m-%d %H:%M")


def period_text(schedule: Schedule, start: datetime, end: datetime) -> str:
    """``2026-01-12 09:00 to 2026-01-19 09:00 (Asia/Shanghai)``; the end's date is left out when
    it is the start's."""
    zone = ZoneInfo(schedule.time_zone)
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    end_format = "%H:%M" if local_end.date() == local_start.date() else "%Y-%m-%d %H:%M"
    return _("%(start)s to %(end)s (%(zone)s)") % {
        "start": local_start.strftime("%Y-%m-%d %H:%M"),
        "end": local_end.strftime(end_format),
        "zone": schedule.time_zone,
    }


def numbered(swaps: Iterable[ShiftSwap]) -> list[str]:
    """One line per request, for the chat: ``#12 SRE primary: Alice, 2026-01-12 09:00 to ...``."""
    lines = []
    for swap in swaps:
        line = f"#{swap.pk} {swap.schedule.name}: {display_name(swap.requester)}, " + period_text(
            swap.schedule, swap.start, swap.end
        )
        if swap.note:
            line += f" “{' '.join(swap.note.split())}”"
        lines.append(line)
    return lines
