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
from oncall.timeline_messages import phrase, worded

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
    # The person is what a level needs: their shift's extent is not worked out for it.
    found = {o.schedule.pk: o for o in resolve.responders(schedules, at, whole=False)}
    people: dict[int, Any] = {}
    reached: dict[int, list[resolve.OnCall]] = {}
    unreachable: list[str] = []
    for schedule in sorted(schedules, key=lambda s: s.name):
        on_call = found.get(schedule.pk)
        if on_call is None:
            unreachable.append(nobody_on_call(schedule))
            continue
        people.setdefault(on_call.user.pk, on_call.user)
        reached.setdefault(on_call.user.pk, []).append(on_call)
    reasons = {pk: reasons_for(on_calls) for pk, on_calls in reached.items()}
    return OnCallReach(people, reasons, unreachable)


def reasons_for(on_calls: Sequence[resolve.OnCall]) -> list[str]:
    """Why schedules reached one person: ``on call: SRE primary, DB secondary`` for those they
    are on call in, then ``next on call: Nights, from Mon 09:00`` for each they are next in
    (the start in that schedule's zone)."""
    now = [o.schedule.name for o in on_calls if not o.is_next]
    reasons = [worded("reached_as.on_call", schedules=", ".join(now))] if now else []
    for on_call in on_calls:
        if on_call.is_next:
            start = on_call.shift.start.astimezone(ZoneInfo(on_call.schedule.time_zone))
            said = worded(
                "reached_as.next_on_call",
                schedule=on_call.schedule.name,
                day=phrase(f"weekday.{start.weekday()}"),
                time=f"{start:%H:%M}",
            )
            reasons.append(said)
    return reasons


def nobody_on_call(schedule: Schedule) -> str:
    days = resolve.NEXT_HORIZON.days
    return worded("unreachable.nobody_on_call", schedule=schedule.name, days=days)


def reasons_of(user: Any) -> tuple[str, ...]:
    return getattr(user, REACHED_AS, ())
