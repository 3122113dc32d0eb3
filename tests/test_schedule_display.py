"""Who is on call, and who is next, are looked for a short way ahead first (a fraction of the
work of the whole horizon): that never changes the answer."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings

from oncall.schedules import display, resolve
from oncall.schedules.rotation import final_shifts
from tests.schedule_strategies import specs


@settings(max_examples=150, deadline=None)
@given(specs())
def test_the_short_look_ahead_gives_the_same_now_and_next_as_the_whole_horizon(drawn):
    spec, at, _ = drawn
    whole = display._current_and_following(
        final_shifts(spec, at - timedelta(days=1), at + resolve.NEXT_HORIZON), at
    )

    assert display.current_and_next(spec, at) == whole


@settings(max_examples=150, deadline=None)
@given(specs())
def test_who_is_on_call_looking_a_short_way_first_is_who_the_whole_horizon_says(drawn):
    spec, at, _ = drawn
    shifts = final_shifts(spec, at - timedelta(days=1), at + resolve.NEXT_HORIZON)
    current = next((s for s in shifts if s.contains(at)), None)
    chosen = current or next((s for s in shifts if s.start > at), None)

    expected = None if chosen is None else (chosen, current is None)
    assert resolve.on_call_or_next(spec, at) == expected


@settings(max_examples=150, deadline=None)
@given(specs())
def test_asking_for_the_person_only_names_the_same_person_as_the_whole_shift(drawn):
    spec, at, _ = drawn
    whole = resolve.on_call_or_next(spec, at)
    person_only = resolve.on_call_or_next(spec, at, whole=False)

    if whole is None:
        assert person_only is None
    else:
        (shift, is_next), (piece, piece_is_next) = whole, person_only
        assert (piece.user, piece.layer, piece.override, piece_is_next) == (
            shift.user,
            shift.layer,
            shift.override,
            is_next,
        )
        assert piece.start == (shift.start if is_next else at)
