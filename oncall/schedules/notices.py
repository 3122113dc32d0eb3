"""Shift-start notices: "You are on call for SRE primary from 18:00 until Mon 09:00", sent
through the chat platforms ``SCHEDULE_NOTICE_MINUTES`` before a shift starts.

The beat task (``oncall.tasks.send_shift_notices``, every minute) finds the final shifts that
start within the lead time (or started in the last ``LATE_GRACE``, for a minute a worker
missed, or an override that starts at once) and gives each person one notice per shift start.
A shift is a person's uninterrupted time on call in a schedule: when the same person goes on
from one layer to another, or from a layer into their own override, nothing new starts.

Exactly once: a ``ShiftNotice`` row, unique on (schedule, person, shift start), is inserted in
the transaction that asks the platforms to send; overlapping runs and restarts find it and
skip. A platform queues its sends on commit and retries them (Feishu: the notice's key is
the message's uuid, so a retry posts once). A notice lost between the commit and the queue
(a process killed there) is not sent again: a late "you are on call" is worth less than a
second one is annoying.

Texts are in the console's language (``LANGUAGE_CODE``): a person's own language is not
known yet. Times are in the schedule's zone, which the text names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import dateformat, timezone, translation
from django.utils.translation import gettext

from oncall.models import Schedule, ShiftNotice
from oncall.platforms import LevelReport, platforms
from oncall.schedules import resolve
from oncall.schedules.rotation import Shift, final_shifts
from oncall.timeline_messages import Phrase, phrase

# A shift that started this recently and was not noticed yet still is (a missed minute).
LATE_GRACE = timedelta(minutes=10)
# How far ahead a shift's end is looked for, to say until when it lasts.
UNTIL_HORIZON = timedelta(days=8)
# Notices are kept this long after their shift started, then purged.
RETENTION = timedelta(days=30)


@dataclass(frozen=True)
class Start:
    """A person's shift in a schedule starting at ``start``; ``end`` None when it lasts past
    what was looked at."""

    schedule: Schedule
    user: Any
    start: datetime
    end: datetime | None


def lead_time() -> timedelta:
    return timedelta(minutes=settings.SCHEDULE_NOTICE_MINUTES)


def send_due(now: datetime | None = None) -> int:
    """Give every shift starting within the lead time its notice, once; returns how many
    notices were given now."""
    now = now or timezone.now()
    if lead_time() <= timedelta(0):
        return 0
    ShiftNotice.objects.filter(shift_start__lt=now - RETENTION).delete()
    return sum(_give(start, now) for start in due_starts(now))


def due_starts(now: datetime) -> list[Start]:
    """The shift starts in ``[now - LATE_GRACE, now + lead]`` of every schedule, by start;
    all schedules loaded in a fixed number of queries."""
    window_start, window_end = now - LATE_GRACE, now + lead_time()
    # From a day back, so that a shift going on at the window's start shows whole and is not
    # mistaken for one starting there.
    first, last = window_start - timedelta(days=1), window_end + UNTIL_HORIZON
    found: list[Start] = []
    for schedule in resolve.with_rows(Schedule.objects.all(), first, last):
        spec = resolve.spec_of(schedule)
        # Every minute, every schedule: the arithmetic looks only as far as the window (and a
        # day on), and to the horizon only for the few schedules with a start in it.
        near = person_runs(final_shifts(spec, first, window_end + timedelta(days=1)))
        if not any(window_start <= run.start <= window_end for run in near):
            continue
        runs = person_runs(final_shifts(spec, first, last))
        starting = [run for run in runs if window_start <= run.start <= window_end]
        people = resolve.people_of(starting)
        found.extend(
            Start(schedule, people[run.user], run.start, run.end if run.end < last else None)
            for run in starting
        )
    return sorted(found, key=lambda s: (s.start, s.schedule.name))


def person_runs(shifts: Iterable[Shift]) -> list[Shift]:
    """Adjacent shifts of the same person as one, whatever layer or override they come from:
    what a person sees as their time on call."""
    runs: list[Shift] = []
    for shift in shifts:
        if runs and runs[-1].end == shift.start and runs[-1].user == shift.user:
            runs[-1] = Shift(runs[-1].start, shift.end, shift.user)
        else:
            runs.append(Shift(shift.start, shift.end, shift.user))
    return runs


def _give(start: Start, now: datetime) -> bool:
    """Insert the notice's row and ask the platforms to send it, in one transaction; False
    when it was given before (or is being given by an overlapping run)."""
    try:
        with transaction.atomic():
            notice = ShiftNotice.objects.create(
                schedule=start.schedule,
                user=start.user,
                shift_start=start.start,
                shift_end=start.end,
            )
            report = LevelReport.combine(
                platform.send_notice([start.user], notice_text(start, now), key=_key(notice))
                for platform in platforms()
            )
            outcome = _outcome(report)
            notice.outcome = outcome.in_language("en")
            notice.outcome_kind, notice.outcome_params = outcome.kind, outcome.stored()["params"]
            notice.save(update_fields=["outcome", "outcome_kind", "outcome_params"])
    except IntegrityError:
        return False  # given already: the unique (schedule, person, shift start) says so
    return True


def _key(notice: ShiftNotice) -> str:
    return f"oncall-shift-{notice.pk}"


def _outcome(report: LevelReport) -> Phrase:
    """What the platforms reported, said in each reader's language on the admin's page (the
    platforms' reasons kept as their phrases)."""
    sent, missed = list(report.notified), list(report.unreachable)
    if sent and missed:
        return phrase("shift_notice.sent_unreachable", people=sent, unreachable=missed)
    if sent:
        return phrase("shift_notice.sent", people=sent)
    if missed:
        return phrase("shift_notice.unreachable", unreachable=missed)
    return phrase("shift_notice.nobody")


def notice_text(start: Start, now: datetime) -> str:
    """ "You are on call for SRE primary from 18:00 until Mon 09:00 (Europe/Berlin).", in the
    console's language."""
    zone = ZoneInfo(start.schedule.time_zone)
    with translation.override(settings.LANGUAGE_CODE):
        values = {
            "schedule": start.schedule.name,
            "start": local_time(start.start, zone, now),
            "zone": start.schedule.time_zone,
        }
        if start.end is None:
            return gettext("You are on call for %(schedule)s from %(start)s (%(zone)s).") % values
        values["end"] = local_time(start.end, zone, now)
        return (
            gettext("You are on call for %(schedule)s from %(start)s until %(end)s (%(zone)s).")
            % values
        )


def local_time(moment: datetime, zone: ZoneInfo, now: datetime) -> str:
    """``18:00`` today, ``Mon 09:00`` within a week, ``2026-01-12 09:00`` later (in ``zone``;
    the day's name in the active language)."""
    local, today = moment.astimezone(zone), now.astimezone(zone).date()
    if local.date() == today:
        return dateformat.format(local, "H:i")
    if local.date() - today < timedelta(days=6):
        return dateformat.format(local, "D H:i")
    return dateformat.format(local, "Y-m-d H:i")
