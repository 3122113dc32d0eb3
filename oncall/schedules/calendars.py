"""Calendars out: a schedule's final shifts, or a person's shifts across schedules, as an
iCalendar (RFC 5545) feed that Feishu, Google and Outlook calendars subscribe to.

* **Period**: from 14 days back to 91 days ahead, counted from the start of the current UTC
  day (so the feed is the same all day long, and a client polling it sees no churn). A shift
  under way at the start of the period is drawn whole (up to :data:`WHOLE_SHIFT_MARGIN` back),
  so its start, and so its UID, does not move from one day to the next; the last one is cut
  at the end of the period and grows as days pass (same UID: the client updates it).
* **UIDs** are derived from the feed, the schedule, the person and the shift's start: the same
  shift keeps its UID across fetches (clients update rather than duplicate); a swap gives the
  period another person and so another event. A shift in a person's feed and the same shift in
  the schedule's feed have different UIDs (one calendar may subscribe to both).
* **Times** are in UTC (``...Z``): unambiguous, and every client shows them in its own zone;
  ``X-WR-TIMEZONE`` names the schedule's zone for clients that offer it.
* **Summary**: the person's name in a schedule's feed; "On call: SRE primary" in a person's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from icalendar import Calendar, Event, vDuration

from oncall.models import CalendarFeed, Schedule, ScheduleLayer, ScheduleOverride
from oncall.models.calendars import hash_feed_token
from oncall.schedules import resolve
from oncall.schedules.rotation import Shift
from oncall.timeline import display_name

LOOK_BACK = timedelta(days=14)
LOOK_AHEAD = timedelta(days=91)
WHOLE_SHIFT_MARGIN = timedelta(days=35)
# What clients are asked to poll at (RFC 7986 REFRESH-INTERVAL and Outlook's
# X-PUBLISHED-TTL); the HTTP answer may be reused for CACHE_SECONDS.
REFRESH_INTERVAL = timedelta(hours=1)
CACHE_SECONDS = 15 * 60
MAX_TOKEN_CHARS = 100
PRODID = "-//On-call console//Schedules//EN"


@dataclass(frozen=True)
class FeedEvent:
    uid: str
    start: datetime
    end: datetime
    summary: str
    description: str


@dataclass(frozen=True)
class Feed:
    name: str
    time_zone: str
    events: list[FeedEvent]

    @property
    def etag(self) -> str:
        """Changes exactly when an event does (not with DTSTAMP, which is the fetch's time)."""
        digest = hashlib.sha256(repr((self.name, self.time_zone, self.events)).encode())
        return f'"{digest.hexdigest()[:32]}"'


# --- The secret URLs -----------------------------------------------------------------------------


def feed_of_schedule(schedule: Schedule) -> CalendarFeed:
    """The schedule's feed, made the first time someone asks for it."""
    return _get_or_create(schedule=schedule)


def feed_of_person(user: Any) -> CalendarFeed:
    return _get_or_create(user=user)


def _get_or_create(**owner: Any) -> CalendarFeed:
    found = CalendarFeed.objects.filter(**owner).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(**owner)
    except IntegrityError:  # made at the same moment by another request: that one is the feed
        found = CalendarFeed.objects.filter(**owner).first()
        if found is None:
            raise
        return found


def rotate(feed: CalendarFeed) -> CalendarFeed:
    feed.rotate()
    return feed


def by_token(token: str) -> CalendarFeed | None:
    """The feed a URL's token opens, looked up by its hash; None for anything else (unknown,
    rotated away, a deactivated person's), all alike."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        return None
    feed = (
        CalendarFeed.objects.select_related("schedule", "user")
        .filter(token_hash=hash_feed_token(token))
        .first()
    )
    if feed is None or (feed.user_id is not None and not feed.user.is_active):
        return None
    return feed


# --- What a feed holds ---------------------------------------------------------------------------


def window(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - LOOK_BACK, day + LOOK_AHEAD


def schedule_shifts(schedule: Schedule, now: datetime) -> list[Shift]:
    """The schedule's final shifts the feed shows."""
    first, last = window(now)
    return [s for s in resolve.final(schedule, first - WHOLE_SHIFT_MARGIN, last) if s.end > first]


def person_shifts(user: Any, now: datetime) -> list[tuple[Schedule, Shift]]:
    first, last = window(now)
    found = resolve.shifts_of(user, first - WHOLE_SHIFT_MARGIN, last)
    return [(schedule, s) for schedule, s in found if s.end > first]


def feed_for(feed: CalendarFeed, now: datetime | None = None) -> Feed:
    now = now or timezone.now()
    with translation.override(settings.LANGUAGE_CODE):  # a calendar app sends no language
        if feed.schedule_id is not None:
            return _schedule_feed(feed.schedule, now)
        return _person_feed(feed.user, now)


def _schedule_feed(schedule: Schedule, now: datetime) -> Feed:
    shifts = schedule_shifts(schedule, now)
    people = resolve.people_of(shifts)
    sources = _Sources.of(shifts)
    events = [
        FeedEvent(
            uid=_uid("schedule", schedule, shift),
            start=shift.start,
            end=shift.end,
            summary=display_name(people.get(shift.user)),
            description=sources.describe(shift),
        )
        for shift in shifts
    ]
    return Feed(
        _("On call: %(schedule)s") % {"schedule": schedule.name}, schedule.time_zone, events
    )


def _person_feed(user: Any, now: datetime) -> Feed:
    pairs = person_shifts(user, now)
    sources = _Sources.of([shift for _schedule, shift in pairs])
    events = [
        FeedEvent(
            uid=_uid("person", schedule, shift),
            start=shift.start,
            end=shift.end,
            summary=_("On call: %(schedule)s") % {"schedule": schedule.name},
            description=sources.describe(shift),
        )
        for schedule, shift in pairs
    ]
    zones = {schedule.time_zone for schedule, _shift in pairs}
    zone = zones.pop() if len(zones) == 1 else settings.TIME_ZONE
    return Feed(_("My on-call shifts: %(name)s") % {"name": display_name(user)}, zone, events)


def _uid(kind: str, schedule: Schedule, shift: Shift) -> str:
    key = f"{kind}:{schedule.public_id}:{shift.user}:{shift.start.astimezone(UTC).isoformat()}"
    host = urlsplit(settings.PUBLIC_BASE_URL).hostname or "oncall"
    return f"{hashlib.sha256(key.encode()).hexdigest()[:32]}@{host}"


@dataclass(frozen=True)
class _Sources:
    """The layers' names and the overrides' notes the shifts come from (two queries)."""

    layers: dict[int, str]
    overrides: dict[int, str]

    @classmethod
    def of(cls, shifts: Sequence[Shift]) -> _Sources:
        layer_ids = {s.layer for s in shifts if s.layer is not None}
        override_ids = {s.override for s in shifts if s.override is not None}
        return cls(
            dict(ScheduleLayer.objects.filter(pk__in=layer_ids).values_list("pk", "name")),
            dict(ScheduleOverride.objects.filter(pk__in=override_ids).values_list("pk", "note")),
        )

    def describe(self, shift: Shift) -> str:
        if shift.override is not None:
            note = self.overrides.get(shift.override, "")
            return (
                _("Override: %(note)s") % {"note": note}
                if note
                else pgettext("calendar event", "Override")
            )
        return _("Layer: %(layer)s") % {"layer": self.layers.get(shift.layer or 0, "")}


# --- iCalendar -----------------------------------------------------------------------------------


def to_ical(feed: Feed, now: datetime | None = None) -> bytes:
    stamp = (now or timezone.now()).astimezone(UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", feed.name)
    calendar.add("x-wr-timezone", feed.time_zone)
    calendar.add("refresh-interval", vDuration(REFRESH_INTERVAL), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    for item in feed.events:
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("dtstart", item.start.astimezone(UTC))
        event.add("dtend", item.end.astimezone(UTC))
        event.add("summary", item.summary)
        event.add("description", item.description)
        # Being on call does not make a person busy for meetings.
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return calendar.to_ical()
