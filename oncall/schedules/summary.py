"""Who is on call now and next, in one line per schedule, for the chat platforms' "oncall"
command: "SRE primary (Europe/Berlin): Alice until 18:00, then Bob".

A person's schedules are those the escalation levels of their channels name (enabled rules),
and those they take part in (a layer, or an override not over yet). Times are in each
schedule's zone, which the line names; words in the console's language (``LANGUAGE_CODE``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.translation import gettext

from oncall.models import Schedule
from oncall.permissions import visible_channels
from oncall.schedules import resolve
from oncall.schedules.notices import local_time, person_runs
from oncall.schedules.rotation import Shift, final_shifts
from oncall.timeline import display_name

# The most schedules one answer lists.
MAX_SCHEDULES = 20


def schedules_of(user: Any, now: datetime) -> QuerySet[Schedule]:
    """The schedules that concern ``user``, by name."""
    channels = visible_channels(user).values("pk")
    named = Q(escalation_levels__rule__channel__in=channels, escalation_levels__rule__enabled=True)
    takes_part = Q(layers__participants__user=user) | Q(
        overrides__user=user, overrides__end__gt=now
    )
    return Schedule.objects.filter(
        pk__in=Schedule.objects.filter(named | takes_part).values("pk")
    ).order_by("name")


@dataclass(frozen=True)
class NowAndNext:
    schedule: Schedule
    now: Shift | None  # a person's whole run on call, from a day back
    next: Shift | None  # the next person's run after ``now`` (or after the moment)
    people: dict[int, Any]
    horizon_end: datetime


def now_and_next(schedules: Sequence[Schedule], at: datetime) -> list[NowAndNext]:
    """For each schedule, who is on call at ``at`` and who comes next, within
    ``resolve.NEXT_HORIZON``; every schedule loaded in a fixed number of queries."""
    first, last = at - timedelta(days=1), at + resolve.NEXT_HORIZON
    answers = []
    ids = [s.pk for s in schedules]
    for schedule in resolve.with_rows(Schedule.objects.filter(pk__in=ids), first, last):
        runs = person_runs(final_shifts(resolve.spec_of(schedule), first, last))
        current = next((run for run in runs if run.contains(at)), None)
        following = next((run for run in runs if run.start > at), None)
        answers.append(NowAndNext(schedule, current, following, {}, last))
    people = resolve.people_of([s for a in answers for s in (a.now, a.next) if s is not None])
    return [
        NowAndNext(a.schedule, a.now, a.next, people, a.horizon_end)
        for a in sorted(answers, key=lambda a: a.schedule.name)
    ]


def describe(answer: NowAndNext, at: datetime) -> str:
    """ "SRE primary (Europe/Berlin): Alice until 18:00, then Bob", in the active language."""
    zone = ZoneInfo(answer.schedule.time_zone)
    who = _now_part(answer, zone, at)
    if answer.next is not None:
        who = gettext("%(now)s, %(next)s") % {"now": who, "next": _next_part(answer, zone, at)}
    return gettext("%(schedule)s (%(zone)s): %(who)s") % {
        "schedule": answer.schedule.name,
        "zone": answer.schedule.time_zone,
        "who": who,
    }


def _now_part(answer: NowAndNext, zone: ZoneInfo, at: datetime) -> str:
    if answer.now is None:
        if answer.next is None:
            days = resolve.NEXT_HORIZON.days
            return gettext("nobody now or in the next %(days)s days") % {"days": days}
        return gettext("nobody now")
    person = display_name(answer.people[answer.now.user])
    if answer.now.end >= answer.horizon_end:
        return person
    return gettext("%(person)s until %(end)s") % {
        "person": person,
        "end": local_time(answer.now.end, zone, at),
    }


def _next_part(answer: NowAndNext, zone: ZoneInfo, at: datetime) -> str:
    assert answer.next is not None
    person = display_name(answer.people[answer.next.user])
    if answer.now is not None and answer.now.end == answer.next.start:
        return gettext("then %(person)s") % {"person": person}
    return gettext("next %(person)s from %(start)s") % {
        "person": person,
        "start": local_time(answer.next.start, zone, at),
    }


def answer_for(user: Any, at: datetime, language: str | None = None) -> str:
    """The "oncall" command's answer for ``user``: a line per schedule of theirs, or what to do
    when they have none; in ``language`` (a chat's card language), else the console's."""
    with translation.override(language or settings.LANGUAGE_CODE):
        schedules = list(schedules_of(user, at)[: MAX_SCHEDULES + 1])
        if not schedules:
            return gettext(
                "No on-call schedules concern you: none of your channels' escalation levels "
                "names a schedule, and you are in none. An admin adds schedules to a level "
                "under Escalation rules."
            )
        lines = [describe(a, at) for a in now_and_next(schedules[:MAX_SCHEDULES], at)]
        if len(schedules) > MAX_SCHEDULES:
            lines.append(gettext("and more: see the console's schedules."))
        return "\n".join(lines)
