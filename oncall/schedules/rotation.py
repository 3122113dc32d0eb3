"""Who is on call when: rotation arithmetic on plain data, no database.

A schedule (:class:`ScheduleSpec`) has a time zone, layers and overrides. Each layer is a
rotation: participants take turns of a fixed length (``every`` hours, days or weeks) from a
start date at a hand-off time; optional restrictions (weekly windows) keep only the parts of
turns inside them. Where several layers have someone, the highest (the last in the spec) wins;
an override beats every layer. :func:`final_shifts` draws the result for any period.

Time zones and daylight saving time, as documented in the README ("On-call schedules"):

* Hand-offs follow the schedule's **wall clock**: turn ``k`` starts at the local time
  ``start_date + handoff + k * length``. A turn that spans a clock change is an hour shorter or
  longer in real time, and a weekly 09:00 hand-off stays at 09:00 all year, whatever the zone.
* A hand-off at a time the clock skips (02:30 on a spring-forward night) happens when the clock
  jumps, at the first moment after the gap: 03:00 in Berlin and New York. A turn that would lie
  wholly inside the gap is empty.
* A hand-off at a time the clock shows twice (01:30 on a fall-back night) happens the first
  time (PEP 495's ``fold=0``).
* Restrictions are wall-clock windows too, with the same two rules for their ends.

Every returned moment is an aware datetime in UTC; pieces are half-open ``[start, end)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo


class Unit(StrEnum):
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"


_UNIT_STEP = {Unit.HOURS: timedelta(hours=1), Unit.DAYS: timedelta(days=1)}
_UNIT_STEP[Unit.WEEKS] = timedelta(weeks=1)


@dataclass(frozen=True)
class Window:
    """A weekly window a layer is restricted to: ``start`` to ``end`` local time on each of
    ``days`` (0 = Monday). An end before the start crosses midnight and belongs to the day it
    starts on; an end equal to the start is a full day (e.g. 00:00 to 00:00 on Sat and Sun)."""

    days: frozenset[int]
    start: time
    end: time


@dataclass(frozen=True)
class Rotation:
    start_date: date
    handoff: time
    unit: Unit
    every: int
    # User ids in turn order; ``None`` is the turn of someone who cannot be on call (a
    # deactivated account): the turn stays in the order and is a gap, so nobody else's shifts
    # move when an account is deactivated.
    participants: tuple[int | None, ...]
    end_date: date | None = None
    restrictions: tuple[Window, ...] = ()

    @property
    def length(self) -> timedelta:
        return _UNIT_STEP[self.unit] * self.every


@dataclass(frozen=True)
class Layer:
    key: int
    name: str
    rotation: Rotation


@dataclass(frozen=True)
class Override:
    key: int
    user: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Shift:
    """Someone on call from ``start`` to ``end``: through layer ``layer`` (its key) or through
    override ``override`` (its key; ``layer`` is then None)."""

    start: datetime
    end: datetime
    user: int
    layer: int | None = None
    override: int | None = None

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class ScheduleSpec:
    zone: ZoneInfo
    layers: tuple[Layer, ...]  # lowest first: a later layer wins where it has someone
    overrides: tuple[Override, ...] = ()


# --- Local wall-clock time ----------------------------------------------------------------------


def local_moment(zone: ZoneInfo, day: date, at: time) -> datetime:
    """The instant (UTC) the zone's clock shows ``at`` on ``day``: the first time for a time
    shown twice, the end of the gap for a time the clock skips."""
    return wall_clock_moment(zone, datetime.combine(day, at))


def wall_clock_moment(zone: ZoneInfo, naive: datetime) -> datetime:
    moment = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) == naive:
        return moment
    # Not a time this zone's clock shows (it jumps over it): zoneinfo read it with the offset
    # before the jump, which lands after the jump by the time into the gap. The hand-off
    # happens when the clock jumps, that is at the first instant whose wall time is later.
    return _end_of_gap(zone, moment)


def _end_of_gap(zone: ZoneInfo, inside: datetime) -> datetime:
    # Offsets change on whole minutes; a gap is at most a few hours. Walk back to the jump.
    low, high = inside - timedelta(hours=4), inside
    offset_after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset_after:
            high = middle
        else:
            low = middle
    return high.replace(second=0, microsecond=0)


def local_naive(zone: ZoneInfo, moment: datetime) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


# --- One rotation -------------------------------------------------------------------------------


def _turn_start(rotation: Rotation, zone: ZoneInfo, k: int) -> datetime:
    first = datetime.combine(rotation.start_date, rotation.handoff)
    return wall_clock_moment(zone, first + rotation.length * k)


def _rotation_end(rotation: Rotation, zone: ZoneInfo) -> datetime | None:
    if rotation.end_date is None:
        return None
    return local_moment(zone, rotation.end_date, rotation.handoff)


def _first_turn_at_or_before(rotation: Rotation, zone: ZoneInfo, moment: datetime) -> int:
    first = datetime.combine(rotation.start_date, rotation.handoff)
    k = max(0, (local_naive(zone, moment) - first) // rotation.length)
    # The wall clock and real time differ by at most a clock change: step to the exact turn.
    while k > 0 and _turn_start(rotation, zone, k) > moment:
        k -= 1
    while _turn_start(rotation, zone, k + 1) <= moment:
        k += 1
    return k


def turns(rotation: Rotation, zone: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """The rotation's turns that overlap ``[start, end)``, clipped to it, before restrictions;
    gaps (a deactivated participant's turn) left out."""
    if not rotation.participants or start >= end:
        return []
    stop = end
    rotation_end = _rotation_end(rotation, zone)
    if rotation_end is not None:
        stop = min(stop, rotation_end)
    k = _first_turn_at_or_before(rotation, zone, start)
    begin = _turn_start(rotation, zone, k)
    found: list[Shift] = []
    count = len(rotation.participants)
    while begin < stop:
        following = _turn_start(rotation, zone, k + 1)
        user = rotation.participants[k % count]
        piece_start, piece_end = max(begin, start), min(following, stop)
        if user is not None and piece_start < piece_end:
            found.append(Shift(piece_start, piece_end, user))
        k, begin = k + 1, max(begin, following)
    return found


def windows_between(
    windows: Sequence[Window], zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The restriction windows' instants within ``[start, end)``, merged and in order."""
    first_day = local_naive(zone, start).date() - timedelta(days=1)
    last_day = local_naive(zone, end).date()
    spans: list[tuple[datetime, datetime]] = []
    day = first_day
    while day <= last_day:
        for window in windows:
            if day.weekday() not in window.days:
                continue
            crosses = window.end <= window.start
            opens = local_moment(zone, day, window.start)
            closes = local_moment(zone, day + timedelta(days=1 if crosses else 0), window.end)
            opens, closes = max(opens, start), min(closes, end)
            if opens < closes:
                spans.append((opens, closes))
        day += timedelta(days=1)
    return _merged(spans)


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for opens, closes in sorted(spans):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return merged


def layer_shifts(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[Shift]:
    """The layer's shifts within ``[start, end)``: its turns, cut to its restrictions; one
    person's back-to-back turns are one shift."""
    found = turns(layer.rotation, zone, start, end)
    if layer.rotation.restrictions:
        spans = windows_between(layer.rotation.restrictions, zone, start, end)
        found = _cut_to(found, spans)
    return _joined(Shift(s.start, s.end, s.user, layer=layer.key) for s in found)


def _cut_to(shifts: list[Shift], spans: list[tuple[datetime, datetime]]) -> list[Shift]:
    cut: list[Shift] = []
    i = 0
    for shift in shifts:
        while i < len(spans) and spans[i][1] <= shift.start:
            i += 1
        j = i
        while j < len(spans) and spans[j][0] < shift.end:
            piece_start, piece_end = max(shift.start, spans[j][0]), min(shift.end, spans[j][1])
            if piece_start < piece_end:
                cut.append(Shift(piece_start, piece_end, shift.user))
            j += 1
    return cut


# --- The schedule -------------------------------------------------------------------------------


def final_shifts(spec: ScheduleSpec, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call from ``start`` to ``end``: overrides first, then the highest layer that
    has someone. Adjacent pieces of the same person through the same layer or override are one
    shift; times when nobody is on call are simply absent."""
    if start >= end:
        return []
    per_layer = [layer_shifts(layer, spec.zone, start, end) for layer in spec.layers]
    overrides = [
        Shift(max(o.start, start), min(o.end, end), o.user, override=o.key)
        for o in spec.overrides
        if o.start < end and o.end > start
    ]
    return _joined(_pieces(per_layer, overrides, start, end))


def _pieces(
    per_layer: list[list[Shift]], overrides: list[Shift], start: datetime, end: datetime
) -> Iterator[Shift]:
    cuts = sorted(
        {start, end}
        | {s.start for shifts in per_layer for s in shifts}
        | {s.end for shifts in per_layer for s in shifts}
        | {o.start for o in overrides}
        | {o.end for o in overrides}
    )
    cursors = [0] * len(per_layer)
    for piece_start, piece_end in pairwise(cuts):
        winner = _override_at(overrides, piece_start) or _top_layer_at(
            per_layer, cursors, piece_start
        )
        if winner is not None:
            yield Shift(piece_start, piece_end, winner.user, winner.layer, winner.override)


def _override_at(overrides: list[Shift], moment: datetime) -> Shift | None:
    # Overlapping overrides are refused when saved; if some exist anyway (made before, or by a
    # race), the latest made (the highest key) wins, so the answer stays defined.
    covering = [o for o in overrides if o.contains(moment)]
    return max(covering, key=lambda o: o.override or 0) if covering else None


def _top_layer_at(
    per_layer: list[list[Shift]], cursors: list[int], moment: datetime
) -> Shift | None:
    winner = None
    for index, shifts in enumerate(per_layer):
        # Moments only grow and a layer's shifts are sorted and disjoint: advance a cursor.
        while cursors[index] < len(shifts) and shifts[cursors[index]].end <= moment:
            cursors[index] += 1
        if cursors[index] < len(shifts) and shifts[cursors[index]].contains(moment):
            winner = shifts[cursors[index]]  # later layers overwrite: the highest wins
    return winner


def _joined(pieces: Iterable[Shift]) -> list[Shift]:
    joined: list[Shift] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if (
            last is not None
            and last.end == piece.start
            and (last.user, last.layer, last.override) == (piece.user, piece.layer, piece.override)
        ):
            joined[-1] = Shift(last.start, piece.end, last.user, last.layer, last.override)
        else:
            joined.append(piece)
    return joined


def on_call_at(spec: ScheduleSpec, moment: datetime) -> Shift | None:
    """The piece of the final schedule at ``moment`` (clipped to it), or None."""
    found = final_shifts(spec, moment, moment + timedelta(microseconds=1))
    return found[0] if found else None


def upcoming(spec: ScheduleSpec, moment: datetime, horizon: timedelta) -> list[Shift]:
    """Final shifts from ``moment`` for ``horizon``: the first is whoever is on call now, if
    anyone, else the next person."""
    return final_shifts(spec, moment, moment + horizon)
