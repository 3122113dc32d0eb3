"""Hypothesis strategies for on-call schedules: rotations and whole schedules (layers and
overrides) in three zones with daylight saving time or without, and a period to draw."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from oncall.schedules.rotation import Layer, Override, Rotation, ScheduleSpec, Unit, Window

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")

ZONES = st.sampled_from([SHANGHAI, BERLIN, NEW_YORK])
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)
PEOPLE = st.one_of(st.integers(1, 6), st.none())
CLOCK = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45]))


@st.composite
def rotations(draw: st.DrawFn, around: date = date(2026, 6, 1)) -> Rotation:
    unit = draw(st.sampled_from(list(Unit)))
    every = draw(
        {Unit.HOURS: st.integers(1, 48), Unit.DAYS: st.integers(1, 10)}.get(unit, st.integers(1, 3))
    )
    # Mostly started before the period asked about, sometimes during it.
    start = around + timedelta(days=draw(st.integers(-90, 5)))
    end = draw(st.one_of(st.none(), st.integers(1, 60).map(lambda n: start + timedelta(days=n))))
    windows = draw(
        st.lists(
            st.builds(Window, st.frozensets(st.integers(0, 6), min_size=1), CLOCK, CLOCK),
            max_size=2,
        )
    )
    people = tuple(draw(st.lists(PEOPLE, min_size=1, max_size=4)))
    return Rotation(start, draw(CLOCK), unit, every, people, end, tuple(windows))


@st.composite
def specs(draw: st.DrawFn) -> tuple[ScheduleSpec, datetime, datetime]:
    zone = draw(ZONES)
    start = YEAR_START + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 340)))
    end = start + timedelta(minutes=15 * draw(st.integers(1, 4 * 24 * 20)))
    layers = tuple(
        Layer(i, f"L{i}", r)
        for i, r in enumerate(
            draw(st.lists(rotations(start.date()), min_size=1, max_size=4)), start=1
        )
    )
    overrides = []
    cursor = start - timedelta(days=1)
    for key in range(draw(st.integers(0, 3))):
        opens = cursor + timedelta(minutes=15 * draw(st.integers(0, 4 * 24 * 5)))
        closes = opens + timedelta(minutes=15 * draw(st.integers(1, 4 * 24 * 3)))
        overrides.append(Override(100 + key, draw(st.integers(1, 6)), opens, closes))
        cursor = closes
    return ScheduleSpec(zone, layers, tuple(overrides)), start, end
