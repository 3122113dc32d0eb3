"""What the schedule pages and the admin's preview show: who is on call now and next, and a
period drawn as rows (one per layer, one for overrides, the final one) and as a list of shifts
and gaps by day, all in the schedule's time zone.

The arithmetic stays in ``oncall.schedules.rotation``; this module only cuts its answers into
pieces a template can place. Times handed to templates are naive local datetimes of the
schedule's zone: Django's ``date`` filter would turn an aware one into the site's zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from oncall.models.schedules import Schedule
from oncall.schedules import resolve
from oncall.schedules.rotation import (
    ScheduleSpec,
    Shift,
    final_shifts,
    layer_shifts,
    local_moment,
    local_naive,
)

WINDOW_DAYS = 14
# Bars take one of this many colours, by person, so that a person's bars match across rows.
PALETTE_SIZE = 8
# How far ahead "now and next" look first (see ``now_and_next``).
FIRST_LOOK_AHEAD = timedelta(days=2)


@dataclass(frozen=True)
class Piece:
    """A shift as a template shows it: who, when (local, naive), through what."""

    shift: Shift
    person: Any  # a user, or None for a gap (nobody on call)
    start: datetime
    end: datetime
    through: str
    colour: int = 0
    left: float = 0.0  # percent of the drawn period
    width: float = 0.0

    @property
    def is_gap(self) -> bool:
        return self.person is None


@dataclass(frozen=True)
class Row:
    kind: str  # "layer", "overrides" or "final"
    label: str
    pieces: list[Piece]


@dataclass(frozen=True)
class Day:
    day: date
    left: float
    pieces: list[Piece] = field(default_factory=list)  # shifts and gaps that start this day


@dataclass(frozen=True)
class NowNext:
    now: Piece | None
    next: Piece | None


@dataclass(frozen=True)
class Drawing:
    time_zone: str
    first_day: date
    start: datetime  # local, naive
    end: datetime
    rows: list[Row]
    days: list[Day]
    now_left: float | None  # where "now" is, in percent, when it is in the period


# --- Loading ------------------------------------------------------------------------------------


def period(
    schedule: Schedule, first_day: date, days: int = WINDOW_DAYS
) -> tuple[datetime, datetime]:
    """The instants (UTC) of local midnight on ``first_day`` and ``days`` later."""
    zone = ZoneInfo(schedule.time_zone)
    return (
        local_moment(zone, first_day, time(0)),
        local_moment(zone, first_day + timedelta(days=days), time(0)),
    )


def today_in(schedule: Schedule, now: datetime) -> date:
    return local_naive(ZoneInfo(schedule.time_zone), now).date()


def _through(schedule: Schedule, shift: Shift) -> str:
    if shift.override is not None:
        note = next(
            (o.note for o in getattr(schedule, "overrides_in_range", ()) if o.pk == shift.override),
            "",
        )
        return _("Override: %(note)s") % {"note": note} if note else _("Override")
    return next((layer.name for layer in schedule.layers.all() if layer.pk == shift.layer), "")


def _piece(schedule: Schedule, people: dict[int, Any], shift: Shift, **extra: Any) -> Piece:
    zone = ZoneInfo(schedule.time_zone)
    return Piece(
        shift=shift,
        person=people.get(shift.user),
        start=local_naive(zone, shift.start),
        end=local_naive(zone, shift.end),
        through=_through(schedule, shift),
        colour=shift.user % PALETTE_SIZE,
        **extra,
    )


# --- Now and next -------------------------------------------------------------------------------


def now_and_next(schedule: Schedule, at: datetime) -> NowNext:
    """Who is on call at ``at`` (the whole shift, up to a day back) and who comes after them,
    within ``resolve.NEXT_HORIZON``. ``schedule`` is loaded by ``resolve.with_rows`` for at
    least ``[at - 1 day, at + NEXT_HORIZON)``. The same person carrying on through another
    layer is one stretch, not "next"."""
    current, following = current_and_next(resolve.spec_of(schedule), at)
    people = resolve.people_in(schedule)
    return NowNext(
        _piece(schedule, people, current) if current else None,
        _piece(schedule, people, following) if following else None,
    )


def current_and_next(spec: ScheduleSpec, at: datetime) -> tuple[Shift | None, Shift | None]:
    """The shifts :func:`now_and_next` names. They are first looked for in a short look ahead,
    a third of the work of the whole horizon: the answer is the same whenever the next shift
    is found and both end within it (a shift cut by the look's end might go on); otherwise
    the whole horizon is drawn."""
    for ahead in (FIRST_LOOK_AHEAD, resolve.NEXT_HORIZON):
        end = at + ahead
        current, following = _current_and_following(
            final_shifts(spec, at - timedelta(days=1), end), at
        )
        found = [s for s in (current, following) if s is not None]
        if following is not None and all(s.end < end for s in found):
            break
    return current, following


def _current_and_following(
    shifts: Sequence[Shift], at: datetime
) -> tuple[Shift | None, Shift | None]:
    """The stretch on call at ``at`` (one person's back-to-back shifts joined) and the shift
    after it; or no stretch and the first shift after ``at``."""
    current = next((s for s in shifts if s.contains(at)), None)
    later = [s for s in shifts if s.start > at]
    if current is None:
        return None, later[0] if later else None
    end = current.end
    for shift in later:
        if shift.user == current.user and shift.start == end:
            end = shift.end
            continue
        return Shift(current.start, end, current.user, current.layer, current.override), shift
    return Shift(current.start, end, current.user, current.layer, current.override), None


def now_and_next_of_all(
    schedules: QuerySet[Schedule] | Iterable[Schedule], at: datetime
) -> list[tuple[Schedule, NowNext]]:
    """:func:`now_and_next` for many schedules (a query of them, in its order, or the rows),
    their rows loaded together."""
    if not isinstance(schedules, QuerySet):
        schedules = Schedule.objects.filter(pk__in=[s.pk for s in schedules])
    loaded = resolve.with_rows(schedules, at - timedelta(days=1), at + resolve.NEXT_HORIZON)
    return [(schedule, now_and_next(schedule, at)) for schedule in loaded]


# --- The drawing --------------------------------------------------------------------------------


def drawing(schedule: Schedule, first_day: date, now: datetime, days: int = WINDOW_DAYS) -> Drawing:
    """``days`` days from local midnight of ``first_day``: a row per layer (lowest first, as
    they stack), the overrides, and the final schedule; and the final shifts with the gaps
    between them, by the day they start. ``schedule`` is loaded for at least that period."""
    zone = ZoneInfo(schedule.time_zone)
    start, end = period(schedule, first_day, days)
    spec = resolve.spec_of(schedule)
    people = resolve.people_in(schedule)
    span = (end - start).total_seconds()

    def placed(shifts: Sequence[Shift]) -> list[Piece]:
        return [
            _piece(
                schedule,
                people,
                s,
                left=100 * (s.start - start).total_seconds() / span,
                width=100 * (s.end - s.start).total_seconds() / span,
            )
            for s in shifts
        ]

    final = final_shifts(spec, start, end)
    rows = [
        Row("layer", layer.name, placed(layer_shifts(layer, zone, start, end)))
        for layer in spec.layers
    ]
    rows.append(Row("overrides", _("Overrides"), placed(_overrides_in(spec, start, end))))
    rows.append(Row("final", _("On call"), placed(final)))
    day_starts = [local_moment(zone, first_day + timedelta(days=n), time(0)) for n in range(days)]
    listed = _with_gaps(schedule, people, final, start, end)
    by_day = [
        Day(
            first_day + timedelta(days=n),
            100 * (moment - start).total_seconds() / span,
            [p for p in listed if p.start.date() == first_day + timedelta(days=n)],
        )
        for n, moment in enumerate(day_starts)
    ]
    return Drawing(
        time_zone=schedule.time_zone,
        first_day=first_day,
        start=local_naive(zone, start),
        end=local_naive(zone, end),
        rows=rows,
        days=by_day,
        now_left=100 * (now - start).total_seconds() / span if start <= now < end else None,
    )


def _overrides_in(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    return [
        Shift(max(o.start, start), min(o.end, end), o.user, override=o.key)
        for o in spec.overrides
        if o.start < end and o.end > start
    ]


def _with_gaps(
    schedule: Schedule,
    people: dict[int, Any],
    shifts: Sequence[Shift],
    start: datetime,
    end: datetime,
) -> list[Piece]:
    """The final shifts in order, with a gap piece (nobody on call) wherever none covers."""
    zone = ZoneInfo(schedule.time_zone)
    listed: list[Piece] = []
    cursor = start
    for shift in [*shifts, None]:
        gap_end = shift.start if shift is not None else end
        if cursor < gap_end:
            gap = Shift(cursor, gap_end, 0)
            listed.append(
                Piece(gap, None, local_naive(zone, cursor), local_naive(zone, gap_end), "")
            )
        if shift is not None:
            listed.append(_piece(schedule, people, shift))
            cursor = shift.end
    return listed


# --- A person's shifts --------------------------------------------------------------------------

MY_SHIFTS_AHEAD = timedelta(weeks=4)


@dataclass(frozen=True)
class MyShift:
    schedule: Schedule
    piece: Piece
    under_way: bool  # started before ``now``: its start shown is ``now``


def shifts_ahead(user: Any, now: datetime, ahead: timedelta = MY_SHIFTS_AHEAD) -> list[MyShift]:
    """``user``'s final shifts in every schedule from ``now`` for ``ahead``, by start, each in
    its schedule's zone. A shift under way starts at ``now`` here: how far back it began
    would take reading back a whole turn, and "now" is what its owner needs to know."""
    found = resolve.shifts_of(user, now, now + ahead)
    return [
        MyShift(schedule, _piece(schedule, {user.pk: user}, shift), shift.start <= now)
        for schedule, shift in found
    ]
