"""The rotation arithmetic: hand-offs across daylight saving time in three zones, layers,
restrictions and overrides, and the invariants of the final schedule (hypothesis)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from oncall.schedules.rotation import (
    Layer,
    Override,
    Rotation,
    ScheduleSpec,
    Shift,
    Unit,
    Window,
    final_shifts,
    layer_shifts,
    local_moment,
    on_call_at,
    turns,
)
from tests.schedule_strategies import (
    BERLIN,
    NEW_YORK,
    SHANGHAI,
    YEAR_START,
    ZONES,
    rotations,
    specs,
)

WEEKDAYS = frozenset(range(5))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def rotation(
    start: date,
    handoff: time,
    unit: Unit = Unit.DAYS,
    every: int = 1,
    people: tuple[int | None, ...] = (1, 2),
    **extra,
) -> Rotation:
    return Rotation(start, handoff, unit, every, people, **extra)


def hand_offs(found: list[Shift]) -> list[datetime]:
    return [s.start for s in found[1:]]


# --- Wall-clock moments --------------------------------------------------------------------------


def test_a_time_the_clock_skips_is_the_moment_the_clock_jumps():
    # New York, 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    assert local_moment(NEW_YORK, date(2026, 3, 8), time(2, 30)) == utc(2026, 3, 8, 7)
    # Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    assert local_moment(BERLIN, date(2026, 3, 29), time(2, 30)) == utc(2026, 3, 29, 1)


def test_a_time_the_clock_shows_twice_is_its_first_showing():
    # New York, 2026-11-01: 01:30 EDT (05:30 UTC), then again 01:30 EST (06:30 UTC).
    assert local_moment(NEW_YORK, date(2026, 11, 1), time(1, 30)) == utc(2026, 11, 1, 5, 30)
    # Berlin, 2026-10-25: 02:30 CEST (00:30 UTC), then again 02:30 CET.
    assert local_moment(BERLIN, date(2026, 10, 25), time(2, 30)) == utc(2026, 10, 25, 0, 30)


# --- Hand-offs across DST, in three zones -------------------------------------------------------


def test_new_york_daily_hand_off_at_0230_over_the_spring_forward_night():
    daily = rotation(date(2026, 3, 6), time(2, 30))
    found = turns(daily, NEW_YORK, utc(2026, 3, 7), utc(2026, 3, 10))

    assert hand_offs(found) == [
        utc(2026, 3, 7, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7),  # 02:30 does not exist: 03:00 EDT, when the clock jumps
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]
    # The turn that spans the night is half an hour short of a day, the next one too: the
    # two turns together lose the skipped hour and the hand-off is back at 02:30.
    assert found[2].end - found[2].start == timedelta(hours=23, minutes=30)
    assert [s.user for s in found] == [1, 2, 1, 2]  # turn 0 (from the 6th) is the first's


def test_new_york_daily_hand_off_at_0130_over_the_fall_back_night():
    daily = rotation(date(2026, 10, 30), time(1, 30))
    found = turns(daily, NEW_YORK, utc(2026, 10, 31, 12), utc(2026, 11, 3))

    assert hand_offs(found) == [
        utc(2026, 11, 1, 5, 30),  # the first 01:30 (EDT)
        utc(2026, 11, 2, 6, 30),  # 01:30 EST
    ]
    assert found[1].end - found[1].start == timedelta(hours=25)


def test_berlin_weekly_hand_off_stays_at_nine_and_the_turn_is_an_hour_short():
    weekly = rotation(date(2026, 3, 16), time(9), Unit.WEEKS, people=(1, 2, 3))
    found = turns(weekly, BERLIN, utc(2026, 3, 16), utc(2026, 4, 7))

    assert [local_moment(BERLIN, d, time(9)) for d in (date(2026, 3, 23), date(2026, 3, 30))] == [
        utc(2026, 3, 23, 8),
        utc(2026, 3, 30, 7),
    ]
    assert hand_offs(found) == [utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)]
    assert found[1].end - found[1].start == timedelta(hours=167)  # spans the spring-forward night
    assert [s.user for s in found] == [1, 2, 3, 1]


def test_berlin_twelve_hour_turns_keep_eight_and_twenty_on_the_clock():
    halves = rotation(date(2026, 3, 27), time(8), Unit.HOURS, 12)
    found = turns(halves, BERLIN, utc(2026, 3, 28, 12), utc(2026, 3, 29, 20))

    assert hand_offs(found) == [utc(2026, 3, 28, 19), utc(2026, 3, 29, 6), utc(2026, 3, 29, 18)]
    assert found[1].end - found[1].start == timedelta(hours=11)  # the night loses its hour


def test_shanghai_has_no_clock_changes_so_every_day_is_24_hours():
    daily = rotation(date(2026, 1, 1), time(9), people=(1, 2, 3))
    found = turns(daily, SHANGHAI, utc(2026, 3, 1), utc(2026, 11, 30))

    inner = found[1:-1]
    assert {s.end - s.start for s in inner} == {timedelta(days=1)}
    assert {s.start.time() for s in inner} == {time(1)}  # 09:00 +08:00


def test_a_turn_inside_the_skipped_hour_is_empty():
    hourly = rotation(date(2026, 3, 8), time(0), Unit.HOURS, 1, people=(1, 2, 3))
    found = turns(hourly, NEW_YORK, utc(2026, 3, 8, 5), utc(2026, 3, 8, 9))

    # 00:00 EST (05:00), 01:00 EST (06:00), 02:00 (skipped: empty), 03:00 EDT (07:00), 04:00 EDT
    assert [(s.start, s.user) for s in found] == [
        (utc(2026, 3, 8, 5), 1),
        (utc(2026, 3, 8, 6), 2),
        (utc(2026, 3, 8, 7), 1),
        (utc(2026, 3, 8, 8), 2),
    ]


def test_nobody_before_the_start_and_after_the_end_date():
    daily = rotation(date(2026, 5, 1), time(9), end_date=date(2026, 5, 3))
    found = turns(daily, SHANGHAI, utc(2026, 4, 1), utc(2026, 6, 1))

    assert (found[0].start, found[-1].end) == (utc(2026, 5, 1, 1), utc(2026, 5, 3, 1))


def test_a_deactivated_participants_turn_is_a_gap_and_nobody_elses_turn_moves():
    daily = rotation(date(2026, 5, 1), time(9), people=(1, None, 3))
    found = turns(daily, SHANGHAI, utc(2026, 5, 1, 1), utc(2026, 5, 4, 1))

    assert [(s.start.day, s.user) for s in found] == [(1, 1), (3, 3)]


# --- Restrictions, layers, overrides -------------------------------------------------------------


def test_business_hours_restriction_keeps_weekdays_nine_to_six_local():
    business = Layer(
        7,
        "business hours",
        rotation(
            date(2026, 3, 2),
            time(9),
            Unit.WEEKS,
            people=(1,),
            restrictions=(Window(WEEKDAYS, time(9), time(18)),),
        ),
    )
    found = layer_shifts(business, NEW_YORK, utc(2026, 3, 6), utc(2026, 3, 11))

    # Fri 6th (EST), Mon 9th and Tue 10th (EDT: the window moved an hour earlier in UTC).
    assert [(s.start, s.end) for s in found] == [
        (utc(2026, 3, 6, 14), utc(2026, 3, 6, 23)),
        (utc(2026, 3, 9, 13), utc(2026, 3, 9, 22)),
        (utc(2026, 3, 10, 13), utc(2026, 3, 10, 22)),
    ]
    assert {s.layer for s in found} == {7}


def test_a_window_that_crosses_midnight_belongs_to_the_day_it_starts():
    nights = Layer(
        1,
        "friday nights",
        rotation(
            date(2026, 1, 1),
            time(0),
            people=(5,),
            restrictions=(Window(frozenset({4}), time(22), time(6)),),
        ),
    )
    found = layer_shifts(nights, SHANGHAI, utc(2026, 5, 4), utc(2026, 5, 11))

    assert [(s.start, s.end) for s in found] == [(utc(2026, 5, 8, 14), utc(2026, 5, 8, 22))]


def test_the_higher_layer_wins_where_it_has_someone_and_the_override_beats_both():
    base = Layer(1, "base", rotation(date(2026, 5, 4), time(9), Unit.WEEKS, people=(1,)))
    office = Layer(
        2,
        "office",
        rotation(
            date(2026, 5, 4),
            time(9),
            Unit.WEEKS,
            people=(2,),
            restrictions=(Window(WEEKDAYS, time(9), time(18)),),
        ),
    )
    cover = Override(9, user=3, start=utc(2026, 5, 5, 2), end=utc(2026, 5, 5, 4))
    spec = ScheduleSpec(SHANGHAI, (base, office), (cover,))

    found = final_shifts(spec, utc(2026, 5, 4, 16), utc(2026, 5, 5, 12))

    assert [(s.start, s.end, s.user, s.layer, s.override) for s in found] == [
        (utc(2026, 5, 4, 16), utc(2026, 5, 5, 1), 1, 1, None),  # evening: base
        (utc(2026, 5, 5, 1), utc(2026, 5, 5, 2), 2, 2, None),  # 09:00 office
        (utc(2026, 5, 5, 2), utc(2026, 5, 5, 4), 3, None, 9),  # the override
        (utc(2026, 5, 5, 4), utc(2026, 5, 5, 10), 2, 2, None),  # office until 18:00
        (utc(2026, 5, 5, 10), utc(2026, 5, 5, 12), 1, 1, None),  # base again
    ]
    assert on_call_at(spec, utc(2026, 5, 5, 3)).user == 3
    assert on_call_at(spec, utc(2026, 5, 5, 11)).user == 1


def test_overlapping_overrides_resolve_to_the_latest_made():
    base = Layer(1, "base", rotation(date(2026, 5, 4), time(9), people=(1,)))
    spec = ScheduleSpec(
        SHANGHAI,
        (base,),
        (
            Override(4, 7, utc(2026, 5, 5), utc(2026, 5, 6)),
            Override(3, 8, utc(2026, 5, 5), utc(2026, 5, 7)),
        ),
    )

    assert on_call_at(spec, utc(2026, 5, 5, 12)).user == 7
    assert on_call_at(spec, utc(2026, 5, 6, 12)).user == 8


def test_no_layers_means_nobody():
    assert final_shifts(ScheduleSpec(BERLIN, ()), utc(2026, 1, 1), utc(2026, 2, 1)) == []


# --- Invariants ---------------------------------------------------------------------------------


def covers(shifts: list[Shift], moment: datetime) -> Shift | None:
    return next((s for s in shifts if s.contains(moment)), None)


def sample_moments(shifts: list[Shift], *extra: Shift) -> list[datetime]:
    points = []
    for s in [*shifts, *extra]:
        points += [s.start, s.start + (s.end - s.start) / 2, s.end - timedelta(microseconds=1)]
    return points


@settings(max_examples=150, deadline=None)
@given(specs())
def test_the_final_schedule_keeps_its_invariants(case):
    spec, start, end = case
    final = final_shifts(spec, start, end)
    per_layer = [layer_shifts(layer, spec.zone, start, end) for layer in spec.layers]

    # Sorted, disjoint, non-empty pieces inside the period.
    assert all(start <= s.start < s.end <= end for s in final)
    assert all(a.end <= b.start for a, b in itertools.pairwise(final))
    # At every instant, at most one person per layer.
    for shifts in per_layer:
        assert all(a.end <= b.start for a, b in itertools.pairwise(shifts))

    overrides = [o for o in spec.overrides if o.start < end and o.end > start]
    for moment in sample_moments([s for shifts in per_layer for s in shifts]):
        if not start <= moment < end:
            continue
        piece = covers(final, moment)
        # No gap where a layer has someone...
        assert piece is not None
        # ...and where no override is, the highest layer that has someone wins.
        if not any(o.start <= moment < o.end for o in overrides):
            top = [covers(shifts, moment) for shifts in per_layer]
            winner = [s for s in top if s is not None][-1]
            assert (piece.user, piece.layer) == (winner.user, winner.layer)
    # Overrides always win, over their whole span (the latest made where they overlap).
    for override in overrides:
        for moment in (
            max(override.start, start),
            min(override.end, end) - timedelta(microseconds=1),
        ):
            piece = covers(final, moment)
            assert piece is not None
            assert piece.override is not None
            assert piece.user == next(
                o.user for o in sorted(overrides, key=lambda o: -o.key) if o.start <= moment < o.end
            )
    # Nobody is on call where neither a layer nor an override has someone.
    for piece in final:
        moment = piece.start
        assert piece.override is not None or covers(
            per_layer[[layer.key for layer in spec.layers].index(piece.layer)], moment
        )
    # Asking about one moment agrees with the period's answer.
    for piece in final[:5]:
        assert on_call_at(spec, piece.start) == Shift(
            piece.start,
            piece.start + timedelta(microseconds=1),
            piece.user,
            piece.layer,
            piece.override,
        )


@settings(max_examples=150, deadline=None)
@given(rotations(), ZONES, st.integers(0, 300))
def test_day_and_week_turns_hand_off_at_the_hand_off_time_on_the_clock(rot, zone, offset):
    if rot.unit == Unit.HOURS:
        rot = Rotation(rot.start_date, rot.handoff, Unit.DAYS, rot.every, rot.participants)
    start = YEAR_START + timedelta(days=offset)
    every_turn = Rotation(rot.start_date, rot.handoff, rot.unit, rot.every, (1, 2))

    found = turns(every_turn, zone, start, start + timedelta(days=40))

    for shift in found[1:]:
        local = shift.start.astimezone(zone)
        assert local.time() == rot.handoff or _skipped(zone, local.date(), rot.handoff)


def _skipped(zone: ZoneInfo, day: date, at: time) -> bool:
    naive = datetime.combine(day, at)
    return naive.replace(tzinfo=zone).astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive
