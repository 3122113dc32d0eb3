"""Schedules from the database into the rotation arithmetic, and the answers every surface
asks for: who is on call now (or next), the final shifts of a period, a person's shifts.

Everything is computed from the rows each time (a schedule's answer changes with the clock,
and a schedule is a handful of rows): no cache to go stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from oncall.models.schedules import (
    LayerParticipant,
    Schedule,
    ScheduleLayer,
    ScheduleOverride,
    parse_restrictions,
)
from oncall.schedules.rotation import (
    Layer,
    Override,
    Rotation,
    ScheduleSpec,
    Shift,
    Unit,
    final_shifts,
    on_call_at,
)

# How far ahead "the next person" is looked for when nobody is on call now.
NEXT_HORIZON = timedelta(days=14)
# How far ahead "who is on call" looks first (``on_call_or_next``).
FIRST_LOOK = timedelta(days=2)


def with_rows(schedules: QuerySet[Schedule], start: datetime, end: datetime) -> QuerySet[Schedule]:
    """``schedules`` with their layers, participants and the overrides that touch
    ``[start, end)`` fetched in a fixed number of queries, for :func:`spec_of`."""
    return schedules.prefetch_related(
        Prefetch(
            "layers",
            queryset=ScheduleLayer.objects.order_by("position", "id").prefetch_related(
                Prefetch(
                    "participants",
                    queryset=LayerParticipant.objects.order_by("position", "id").select_related(
                        "user"
                    ),
                )
            ),
        ),
        Prefetch(
            "overrides",
            queryset=ScheduleOverride.objects.filter(start__lt=end, end__gt=start)
            .select_related("user")
            .order_by("start", "id"),
            to_attr="overrides_in_range",
        ),
    )


def spec_of(schedule: Schedule) -> ScheduleSpec:
    """The schedule as plain data. Load it with :func:`with_rows` (or :func:`load`) first."""
    return ScheduleSpec(
        zone=ZoneInfo(schedule.time_zone),
        layers=tuple(_layer(layer) for layer in schedule.layers.all()),
        overrides=tuple(
            Override(o.pk, o.user_id, o.start, o.end)
            for o in getattr(schedule, "overrides_in_range", ())
            if o.user.is_active
        ),
    )


def _layer(layer: ScheduleLayer) -> Layer:
    return Layer(
        key=layer.pk,
        name=layer.name,
        rotation=Rotation(
            start_date=layer.start_date,
            handoff=layer.handoff_time,
            unit=Unit(layer.rotation_unit),
            every=layer.rotation_every,
            participants=tuple(
                p.user_id if p.user.is_active else None for p in layer.participants.all()
            ),
            end_date=layer.end_date,
            restrictions=parse_restrictions(layer.restrictions),
        ),
    )


def load(schedule: Schedule | int, start: datetime, end: datetime) -> Schedule:
    pk = schedule.pk if isinstance(schedule, Schedule) else schedule
    return with_rows(Schedule.objects.filter(pk=pk), start, end).get()


# --- Answers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnCall:
    """Who a schedule reaches at a moment: ``user`` during ``shift``; ``is_next`` when nobody is
    on call then and this is the next person (whose shift starts later)."""

    schedule: Schedule
    user: Any
    shift: Shift
    is_next: bool = False


def final(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    return final_shifts(spec_of(load(schedule, start, end)), start, end)


def responder(
    schedule: Schedule, at: datetime, *, loaded: bool = False, whole: bool = True
) -> OnCall | None:
    """Whoever is on call at ``at``, or else the next person within :data:`NEXT_HORIZON`; None
    when the schedule has nobody in that time. The shift is whole (not cut at ``at``) up to a
    day back; with ``whole=False`` the shift of someone on call at ``at`` is that moment only,
    for callers that need the person and not the shift (escalation), at a fraction of the
    work."""
    if not loaded:
        schedule = load(schedule, at - timedelta(days=1), at + NEXT_HORIZON)
    found = on_call_or_next(spec_of(schedule), at, whole=whole)
    if found is None:
        return None
    shift, is_next = found
    return OnCall(schedule, people_in(schedule)[shift.user], shift, is_next=is_next)


def on_call_or_next(
    spec: ScheduleSpec, at: datetime, *, whole: bool = True
) -> tuple[Shift, bool] | None:
    """The piece of the final schedule at ``at`` (whole up to a day back), or else the first
    one after ``at`` within :data:`NEXT_HORIZON` (then ``True``: it is the next person's).

    It is looked for in :data:`FIRST_LOOK` first, a fraction of the work of the whole
    horizon: the answer is the same whenever the piece found ends within that look (one cut
    by the look's end might go on), and only otherwise is the whole horizon drawn. Without
    ``whole``, someone on call at ``at`` is answered from that moment alone."""
    if not whole:
        piece = on_call_at(spec, at)
        if piece is not None:
            return piece, False
    for ahead in (FIRST_LOOK, NEXT_HORIZON):
        end = at + ahead
        shifts = final_shifts(spec, at - timedelta(days=1), end)
        current = next((s for s in shifts if s.contains(at)), None)
        chosen = current or next((s for s in shifts if s.start > at), None)
        if chosen is not None and chosen.end < end:
            break
    return None if chosen is None else (chosen, current is None)


def responders(schedules: Iterable[Schedule], at: datetime, *, whole: bool = True) -> list[OnCall]:
    """:func:`responder` for many schedules, loaded together; schedules without anyone are
    left out."""
    ids = [s.pk for s in schedules]
    loaded = with_rows(
        Schedule.objects.filter(pk__in=ids), at - timedelta(days=1), at + NEXT_HORIZON
    )
    found = [responder(s, at, loaded=True, whole=whole) for s in loaded]
    return [o for o in found if o is not None]


def shifts_of(user: Any, start: datetime, end: datetime) -> list[tuple[Schedule, Shift]]:
    """A person's final shifts in every schedule they take part in, by start."""
    involved = Schedule.objects.filter(
        Q(layers__participants__user=user) | Q(overrides__user=user, overrides__end__gt=start)
    ).distinct()
    per_schedule = [
        [(schedule, s) for s in final_shifts(spec_of(schedule), start, end) if s.user == user.pk]
        for schedule in with_rows(involved, start, end)
    ]
    return sorted(
        (pair for pairs in per_schedule for pair in pairs), key=lambda p: (p[1].start, p[1].end)
    )


def people_in(schedule: Schedule) -> dict[int, Any]:
    """The users a schedule loaded by :func:`with_rows` names, by id, without a query."""
    people = {
        p.user_id: p.user for layer in schedule.layers.all() for p in layer.participants.all()
    }
    people.update((o.user_id, o.user) for o in getattr(schedule, "overrides_in_range", ()))
    return people


def people_of(shifts: Sequence[Shift]) -> dict[int, Any]:
    """The users the shifts name, by id, in one query."""
    return get_user_model().objects.in_bulk({s.user for s in shifts})
