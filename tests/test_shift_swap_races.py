"""Shift swaps under real concurrency (PostgreSQL): the request's row lock makes two people
taking the same request at once give one override, and the other is told who was first."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from oncall.models import ScheduleOverride, ShiftSwap
from oncall.schedules import swaps
from tests.concurrency import race
from tests.factories import ScheduleLayerFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def test_two_simultaneous_takes_make_one_override_and_the_loser_learns_who():
    assert connection.vendor == "postgresql"
    alice, bob, carol = (
        UserFactory(username=n, first_name=n.title()) for n in ("alice", "bob", "carol")
    )
    first = timezone.now().astimezone(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=2)
    schedule = ScheduleLayerFactory(
        people=[alice, bob, carol], handoff_time=time(9), rotation_unit="days", start_date=first
    ).schedule
    alices = [s for s in swaps.upcoming_shifts(schedule, alice)][:ROUNDS]
    assert len(alices) == ROUNDS

    for shift in alices:
        swap = swaps.ask(schedule, alice, shift.start, shift.end)
        results = race(
            lambda pk=swap.pk: swaps.take(pk, bob),
            lambda pk=swap.pk: swaps.take(pk, carol),
        )

        winners = [r for r in results if isinstance(r, swaps.Taken)]
        losers = [r for r in results if isinstance(r, swaps.SwapRefused)]
        assert (len(winners), len(losers)) == (1, 1), results
        winner = winners[0].override.user
        assert losers[0].code == "already_taken"
        assert losers[0].message.startswith(f"Already taken by {winner.first_name} at ")
        assert ScheduleOverride.objects.filter(start=shift.start).count() == 1
        swap.refresh_from_db()
        assert (swap.status, swap.taken_by) == (ShiftSwap.Status.TAKEN, winner)
