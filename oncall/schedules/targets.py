"""Schedules as escalation targets: whom a level's schedules reach when it runs, and why.

A level naming schedules reaches, for each, whoever is on call at that moment (the override
when there is one) or, when nobody is, the next person within ``resolve.NEXT_HORIZON``; a
schedule with nobody at all in that time reaches nobody and is reported as unreachable.
Every schedule of a level is resolved together (``resolve.responders``: a fixed number of
queries however many schedules).

Each person a schedule reached carries the reason on the user object (:data:`REACHED_AS`:
``on call: SRE primary``), so that the platforms' reports, which name people with
``oncall.platforms.person_name``, say it on the timeline: "Level 1: notified Alice (on call:
SRE primary)". The reasons are the timeline's, in English like the rest of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from oncall.models.schedules import Schedule
from oncall.schedules import resolve

# The attribute of a user object that says why a level reaches them (a tuple of words).
REACHED_AS = "reached_as"


@dataclass(frozen=True)
class OnCallReach:
    """What a level's schedules reach at a moment: each person (by pk, one object each) with
    the reasons, and the schedules that reach nobody, in words."""

    people: dict[int, Any]
    reasons: dict[int, list[str]]
    unreachable: list[str]

    def merged_into(self, people: Iterable[Any]) -> list[Any]:
        """``people`` (the level's other recipients) and the on-call, each once; a person in
        both is the object from ``people``, with the reasons of the schedules attached."""
        merged = {user.pk: user for user in people}
        for pk, user in self.people.items():
            merged.setdefault(pk, user)
        for pk, reasons in self.reasons.items():
            setattr(merged[pk], REACHED_AS, tuple(reasons))
        return list(merged.values())


def on_call_for(schedules: Sequence[Schedule], at: datetime) -> OnCallReach:
    found = {o.schedule.pk: o for o in resolve.responders(schedules, at)}
    people: dict[int, Any] = {}
    reasons: dict[int, list[str]] = {}
    unreachable: list[str] = []
    for schedule in sorted(schedules, key=lambda s: s.name):
        on_call = found.get(schedule.pk)
        if on_call is None:
            unreachable.append(nobody_on_call(schedule))
            continue
        people.setdefault(on_call.user.pk, on_call.user)
        reasons.setdefault(on_call.user.pk, []).append(reason(on_call))
    return OnCallReach(people, reasons, unreachable)


def reason(on_call: resolve.OnCall) -> str:
    """``on call: SRE primary``, or ``next on call: SRE primary, from Mon 09:00`` (in the
    schedule's zone) when nobody is on call and this is the next person."""
    if not on_call.is_next:
        return f"on call: {on_call.schedule.name}"
    start = on_call.shift.start.astimezone(ZoneInfo(on_call.schedule.time_zone))
    return f"next on call: {on_call.schedule.name}, from {start:%a %H:%M}"


def nobody_on_call(schedule: Schedule) -> str:
    days = resolve.NEXT_HORIZON.days
    return f"{schedule.name} (schedule: nobody on call now or in the next {days} days)"


def reasons_of(user: Any) -> tuple[str, ...]:
    return getattr(user, REACHED_AS, ())
