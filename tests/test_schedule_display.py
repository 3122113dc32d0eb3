"""What the schedule pages compute from the arithmetic: "now and next" looks a short way
ahead first, and that never changes the answer."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings

from oncall.schedules import display, resolve
from oncall.schedules.rotation import final_shifts
from tests.test_schedule_rotation import specs


@settings(max_examples=150, deadline=None)
@given(specs())
def test_the_short_look_ahead_gives_the_same_now_and_next_as_the_whole_horizon(drawn):
    spec, at, _ = drawn
    whole = display._current_and_following(
        final_shifts(spec, at - timedelta(days=1), at + resolve.NEXT_HORIZON), at
    )

    assert display.current_and_next(spec, at) == whole
