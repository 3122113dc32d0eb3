"""The period insights cover: a preset (the last 7, 30 or 90 days, today included) or custom
dates, as whole days in the viewer's time zone; or, through the API, exact times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# The longest period asked for at once: a year, leap day included.
MAX_DAYS = 366
PRESETS = {
    "7d": (gettext_lazy("Last 7 days"), 7),
    "30d": (gettext_lazy("Last 30 days"), 30),
    "90d": (gettext_lazy("Last 90 days"), 90),
}
DEFAULT_PRESET = "30d"


class BadPeriod(ValueError):
    """A period that cannot be used; ``code`` is the API's stable error code."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Period:
    """``start`` inclusive, ``end`` exclusive, both aware; ``tz`` buckets hours and days."""

    start: datetime
    end: datetime
    tz: tzinfo

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        """The local day the period's last moment falls on."""
        return (self.end - timedelta(microseconds=1)).astimezone(self.tz).date()

    def days(self) -> list[date]:
        first, last = self.first_day, self.last_day
        return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """The first moment of ``day`` in ``tz`` (a day that starts with a DST gap starts at the
    gap's end: the zone's rules say which moment that is)."""
    return datetime.combine(day, time.min).replace(tzinfo=tz)


def preset_period(preset: str, now: datetime, tz: tzinfo) -> Period:
    """The last ``n`` local days, today included, up to the end of today."""
    days = PRESETS[preset][1]
    today = now.astimezone(tz).date()
    return Period(
        local_midnight(today - timedelta(days=days - 1), tz),
        local_midnight(today + timedelta(days=1), tz),
        tz,
    )


def custom_period(since: datetime, end: datetime, tz: tzinfo) -> Period:
    """``since`` to ``end`` (exclusive), refused when empty, backwards or over a year."""
    if since >= end:
        raise BadPeriod("invalid_range", _("The period's start must be before its end."), "since")
    if end - since > timedelta(days=MAX_DAYS):
        raise BadPeriod(
            "range_too_long",
            _("The period may cover at most %(days)d days.") % {"days": MAX_DAYS},
            "until",
        )
    return Period(since, end, tz)


# Days outside these years are refused rather than risk an overflow at the calendar's ends.
FIRST_YEAR, LAST_YEAR = 1970, 9998


def _in_range(day: date, field: str) -> date:
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise BadPeriod(
            "invalid_date",
            _("Choose a day between the years %(first)d and %(last)d.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR},
            field,
        )
    return day


def days_period(first: date, last: date, tz: tzinfo) -> Period:
    """From the start of local day ``first`` to the end of local day ``last``."""
    first, last = _in_range(first, "since"), _in_range(last, "until")
    return custom_period(
        local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz), tz
    )


def parse_bound(value: str, tz: tzinfo, field: str, *, end: bool) -> datetime:
    """An API bound: a date (a local day; as ``until``, that whole day is included) or an ISO
    8601 time (without an offset: local)."""
    text = value.strip()
    try:
        day = parse_date(text)
        moment = None if day else parse_datetime(text)
    except ValueError:  # well formed but impossible, e.g. 2026-02-30
        day = moment = None
    if day is not None:
        day = _in_range(day, field)
        return local_midnight(day + timedelta(days=1) if end else day, tz)
    if moment is None:
        raise BadPeriod(
            "invalid_date",
            _("“%(value)s” is not a date (YYYY-MM-DD) or an ISO 8601 time.") % {"value": text},
            field,
        )
    _in_range(moment.date(), field)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def api_period(since: str | None, until: str | None, now: datetime, tz: tzinfo) -> Period:
    """The API's ``since``/``until``; either may be left out: ``until`` is then the end of
    today, ``since`` the start of the day 30 days before ``until`` (as the page's default)."""
    if not since and not until:
        return preset_period(DEFAULT_PRESET, now, tz)
    end = (
        parse_bound(until, tz, "until", end=True)
        if until
        else preset_period(DEFAULT_PRESET, now, tz).end
    )
    start = (
        parse_bound(since, tz, "since", end=False)
        if since
        else end - timedelta(days=PRESETS[DEFAULT_PRESET][1])
    )
    return custom_period(start, end, tz)
