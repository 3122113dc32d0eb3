"""Weekly windows: days of the week and hours of those days, in a time zone.

One implementation for everything that recurs by the week: escalation rules' time windows
(``EscalationRule.in_window``) and weekly silences (``oncall.noise.silences``).

A window *occurs* on each of its days (none: every day) from its start to its end, wall-clock
times of its zone; an end not after the start runs into the next day (no times at all: the
whole day), so an occurrence belongs to the day it starts on. Times are computed in the zone
and compared in UTC, so a window keeps its wall-clock hours across daylight-saving changes:
22:00-06:00 Europe/Berlin is 21:00-05:00 UTC in winter and 20:00-04:00 UTC in summer, and a
night that loses or gains an hour is an hour shorter or longer. A wall time that does not exist
(a spring-forward gap) is read with the offset before the change, as zoneinfo does; an
ambiguous one (fall back) as its first occurrence.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Occurrences that follow on without a gap (Saturday and Sunday, all day) are one period:
# followed at most this many days ahead.
MAX_CHAINED_DAYS = 8


@dataclass(frozen=True)
class WeeklyWindow:
    days: frozenset[int]  # 0 = Monday ... 6 = Sunday; empty: every day
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def of(
        cls, days: Iterable[int], start: time | None, end: time | None, zone: str
    ) -> WeeklyWindow:
        """A window from stored fields; a missing start or end is midnight."""
        return cls(frozenset(days), start or time(0), end or time(0), ZoneInfo(zone))

    def occurrence(self, day: date) -> tuple[datetime, datetime]:
        """The UTC start and end of the occurrence that starts on local ``day``."""
        end_day = day if self.end > self.start else day + timedelta(days=1)
        start = datetime.combine(day, self.start, tzinfo=self.zone).astimezone(UTC)
        end = datetime.combine(end_day, self.end, tzinfo=self.zone).astimezone(UTC)
        return start, end

    def period_at(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence that holds the aware moment ``at``, if any."""
        today = at.astimezone(self.zone).date()
        for back in (0, 1):  # an occurrence that started the day before may still run
            day = today - timedelta(days=back)
            if self.days and day.weekday() not in self.days:
                continue
            start, end = self.occurrence(day)
            if start <= at < end:
                return start, end
        return None

    def contains(self, at: datetime) -> bool:
        return self.period_at(at) is not None

    def period_end(self, at: datetime) -> datetime | None:
        """When the period holding ``at`` ends, occurrences that follow on without a gap
        taken as one; None when the window does not hold ``at``."""
        current = self.period_at(at)
        if current is None:
            return None
        end = current[1]
        for _turn in range(MAX_CHAINED_DAYS):
            following = self.period_at(end)
            if following is None or following[1] <= end:
                return end
            end = following[1]
        return end
