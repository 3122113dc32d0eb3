"""The API budget of a DingTalk app: the guide's table ("DingTalk custom application API call
limits": calls a month, refreshed on the 1st, and calls a second, per edition), enforced and
shown.

* ``DatabaseMeter`` is the client's meter. ``count_call`` runs before every counted call: one
  upsert (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, PostgreSQL and SQLite) adds the
  call to the app's row of the month and reads the count back, so two processes never lose a
  call and each call sees its own number. A call past the edition's monthly calls is not made:
  it raises ``BudgetSpent`` (and is not counted), because DingTalk stops the organisation's
  apps once the month is spent (its 90020 / ``ApiCountLimitForOrg``) and the guide warns that
  cards then stop. DingTalk's own refusal is obeyed too: the client maps it to
  ``QuotaExhausted``, recorded the same way.
* The edition's calls a second are held by ``pace``: a window per app and second in the shared
  cache (a limiter, not a record: flushed, it lets one second through unpaced, and DingTalk's
  own 90018 is a ``RateLimited`` that the task retries).
* ``usage(app)`` is what the admin and the API show: calls this month, the limit, the level.

Token calls do not count (DingTalk's 附录A lists the access-credential APIs among those not
counted): the client meters only the calls it makes with a token.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkApiUsage, DingTalkApp

QUOTA_TIMEZONE = ZoneInfo("Asia/Shanghai")
WARNING_PERCENT = 80

# Names fixed by DingTalkApiUsage's fields; double quotes work in PostgreSQL and SQLite. The
# count stops at the limit + 1: the one value that says "refused", so however many calls are
# refused the row does not grow, and every call learns its own fate from the one statement.
_COUNT_CALL = (
    'INSERT INTO "dingtalk_dingtalkapiusage" ("app_id", "month", "calls") VALUES (%s, %s, 1) '
    'ON CONFLICT ("app_id", "month") DO UPDATE SET "calls" = '
    'CASE WHEN "dingtalk_dingtalkapiusage"."calls" <= %s '
    'THEN "dingtalk_dingtalkapiusage"."calls" + 1 ELSE "dingtalk_dingtalkapiusage"."calls" END '
    'RETURNING "calls"'
)


class BudgetSpent(errors.QuotaExhausted):
    """The console refused the call itself: the edition's calls for this month are spent."""


def quota_month(now: datetime | None = None) -> date:
    """The first day of DingTalk's month that ``now`` falls in (China time)."""
    return (now or timezone.now()).astimezone(QUOTA_TIMEZONE).date().replace(day=1)


def spent_message(app: DingTalkApp) -> str:
    return _(
        "The DingTalk API budget of %(app)s is spent: %(limit)s calls this month for its "
        "edition. Cards resume on the 1st, or once the organisation's edition is raised (and "
        "set on the app here)."
    ) % {"app": app.name, "limit": f"{app.plan_limits.calls_per_month:,}"}


class DatabaseMeter:
    """Counts each call of one app before it is made, refusing it past the month's budget."""

    def __init__(self, app: DingTalkApp, *, clock: Callable[[], datetime] = timezone.now):
        self.app = app
        self.clock = clock

    def count_call(self) -> None:
        limit = self.app.plan_limits.calls_per_month
        if _increment(self.app, quota_month(self.clock()), limit) > limit:
            raise BudgetSpent(spent_message(self.app), code="budget")

    def pace(
        self,
        *,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_wait: float = 1.0,
    ) -> None:
        """Hold the call until the app's second has room (the edition's calls a second);
        ``RateLimited`` when that would take longer than ``max_wait``."""
        per_second = self.app.plan_limits.calls_per_second
        waited = 0.0
        while True:
            now = clock()
            key = f"dingtalk:qps:{self.app.pk}:{int(now)}"
            cache.add(key, 0, timeout=5)
            try:
                count = cache.incr(key)
            except ValueError:  # expired between add and incr: a new second
                continue
            if count <= per_second:
                return
            wait = math.floor(now) + 1 - now
            if waited + wait > max_wait:
                raise errors.RateLimited(
                    f"the app's {per_second} calls a second are taken", retry_after=wait
                )
            sleep(wait)
            waited += wait


def _calls(app: DingTalkApp, month: date) -> int | None:
    rows = DingTalkApiUsage.objects.filter(app=app, month=month)
    return rows.values_list("calls", flat=True).first()


def _increment(app: DingTalkApp, month: date, limit: int) -> int:
    """Add one call and return its number; a number past ``limit`` means it must not be made
    (the count then stays at ``limit + 1``)."""
    connection = connections[router.db_for_write(DingTalkApiUsage)]
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_CALL, [app.pk, connection.ops.adapt_datefield_value(month), limit])
        (calls,) = cursor.fetchone()
    return int(calls)


@dataclass(frozen=True)
class Usage:
    calls: int
    limit: int
    per_second: int

    @property
    def percent(self) -> float:
        return round(100 * self.calls / self.limit, 1) if self.limit else 0.0

    @property
    def level(self) -> str:
        """``ok``, ``warning`` (from 80 %) or ``spent``."""
        if self.calls >= self.limit:
            return "spent"
        return "warning" if self.percent >= WARNING_PERCENT else "ok"


def usage(app: DingTalkApp, now: datetime | None = None) -> Usage:
    limits = app.plan_limits
    calls = min(_calls(app, quota_month(now)) or 0, limits.calls_per_month)
    return Usage(calls, limits.calls_per_month, limits.calls_per_second)


def describe(app: DingTalkApp, current: Usage | None = None) -> str:
    current = current or usage(app)
    return _("%(calls)s of %(limit)s calls this month (%(percent)s %%), %(qps)s a second") % {
        "calls": f"{current.calls:,}",
        "limit": f"{current.limit:,}",
        "percent": current.percent,
        "qps": current.per_second,
    }
