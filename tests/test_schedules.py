"""Schedules in the database: what the layers, overrides and accounts say about who is on
call, and the clear refusals for input that makes no sense."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import ValidationError

from oncall.models import ScheduleOverride
from oncall.models.schedules import parse_restrictions
from oncall.schedules import resolve
from tests.factories import ScheduleFactory, ScheduleLayerFactory, UserFactory

pytestmark = pytest.mark.django_db


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def people():
    return [UserFactory(username=name) for name in ("alice", "bob", "carol")]


@pytest.fixture
def weekly(people):
    """Asia/Shanghai, weekly from Monday 2026-01-05 09:00: alice, bob, carol."""
    return ScheduleLayerFactory(people=people, handoff_time=time(9), rotation_unit="weeks").schedule


def test_the_person_on_call_follows_the_rotation(weekly, people):
    alice, bob, _ = people

    assert resolve.responder(weekly, utc(2026, 1, 6)).user == alice
    assert resolve.responder(weekly, utc(2026, 1, 12, 1)).user == bob  # Monday 09:00 +08:00


def test_an_override_puts_someone_in_for_its_period(weekly, people):
    _, _, carol = people
    ScheduleOverride.objects.create(
        schedule=weekly, user=carol, start=utc(2026, 1, 6), end=utc(2026, 1, 7)
    )

    on_call = resolve.responder(weekly, utc(2026, 1, 6, 12))

    assert (on_call.user, on_call.shift.end) == (carol, utc(2026, 1, 7))
    assert resolve.responder(weekly, utc(2026, 1, 7, 12)).user.username == "alice"


def test_a_deactivated_persons_turn_is_a_gap_and_the_next_person_is_named(weekly, people):
    alice, bob, _ = people
    alice.is_active = False
    alice.save()

    on_call = resolve.responder(weekly, utc(2026, 1, 6))

    assert (on_call.user, on_call.is_next, on_call.shift.start) == (bob, True, utc(2026, 1, 12, 1))


def test_nobody_at_all_is_none():
    assert resolve.responder(ScheduleFactory(), utc(2026, 1, 6)) is None


def test_a_persons_shifts_across_schedules(weekly, people):
    _, bob, _ = people
    other = ScheduleLayerFactory(
        people=[bob], rotation_unit="days", start_date=date(2026, 1, 13), end_date=date(2026, 1, 14)
    ).schedule

    found = resolve.shifts_of(bob, utc(2026, 1, 1), utc(2026, 2, 1))

    assert [(schedule, shift.start, shift.end) for schedule, shift in found] == [
        (weekly, utc(2026, 1, 12, 1), utc(2026, 1, 19, 1)),
        (other, utc(2026, 1, 13, 1), utc(2026, 1, 14, 1)),
    ]


def test_many_schedules_are_answered_in_a_fixed_number_of_queries(
    people, django_assert_max_num_queries
):
    schedules = [ScheduleLayerFactory(people=people).schedule for _ in range(5)]

    with django_assert_max_num_queries(6):
        found = resolve.responders(schedules, utc(2026, 1, 6))

    assert len(found) == 5


def test_overlapping_overrides_are_refused_with_the_one_in_the_way(weekly, people):
    alice, bob, _ = people
    ScheduleOverride.objects.create(
        schedule=weekly, user=alice, start=utc(2026, 1, 6), end=utc(2026, 1, 7)
    )
    clash = ScheduleOverride(
        schedule=weekly, user=bob, start=utc(2026, 1, 6, 12), end=utc(2026, 1, 8)
    )

    with pytest.raises(ValidationError) as refused:
        clash.full_clean()

    assert "overlaps alice's override from 2026-01-06 08:00 to 2026-01-07 08:00" in str(
        refused.value
    )


def test_an_override_must_end_after_it_starts(weekly, people):
    backwards = ScheduleOverride(
        schedule=weekly, user=people[0], start=utc(2026, 1, 7), end=utc(2026, 1, 6)
    )

    with pytest.raises(ValidationError, match="must end after it starts"):
        backwards.full_clean()


@pytest.mark.parametrize(
    ("restrictions", "reason"),
    [
        ({"days": [0]}, "Enter a list of windows"),
        ([{"days": [], "start": "09:00", "end": "18:00"}], "leaves no time"),
        ([{"days": [7], "start": "09:00", "end": "18:00"}], "0 = Monday"),
        ([{"days": [0], "start": "9am", "end": "18:00"}], "not 9am"),
        ([{"days": [0], "start": "09:00"}], 'exactly "days", "start" and "end"'),
    ],
)
def test_restrictions_that_make_no_sense_are_refused_with_the_reason(restrictions, reason):
    with pytest.raises(ValidationError, match=reason):
        parse_restrictions(restrictions)


def test_a_layer_that_ends_before_it_starts_is_refused(weekly):
    layer = weekly.layers.get()
    layer.end_date = layer.start_date - timedelta(days=1)

    with pytest.raises(ValidationError, match="end before its first turn"):
        layer.full_clean()
