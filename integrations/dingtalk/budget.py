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
* The edition's calls a second are held by ``pace``: a sliding one-second window per app,
  counted by the toolkit's limiter shared by every process (``integrations.chatkit.ratelimit``:
  in Redis, or else in ``DingTalkRateWindow`` rows; ``limiter``), which the receivers' pacing
  counts in too. A call waits in place up to ``MAX_WAIT_SECONDS`` for room, else raises
  ``RateLimited`` for the task to try again; DingTalk's own 90018 is a ``RateLimited`` too.
* ``usage(app)`` is what the admin and the API show: calls this month, the limit, the level.

Token calls do not count (DingTalk's 附录A lists the access-credential APIs among those not
counted): the client meters only the calls it makes with a token.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.db import connections, router
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.chatkit.ratelimit import Limit, Limiter, default_limiter, wait_for
from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkApiUsage, DingTalkApp, DingTalkRateWindow

QUOTA_TIMEZONE = ZoneInfo("Asia/Shanghai")
WARNING_PERCENT = 80
# A call waits in place at most this long for the app's second; a longer wait is the task's.
MAX_WAIT_SECONDS = 1.0

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


def limiter() -> Limiter:
    """The limiter DingTalk's limits are counted in: Redis when configured, else the database."""
    return default_limiter(DingTalkRateWindow)


def app_limit(app: DingTalkApp) -> Limit:
    """The edition's calls a second, for the whole app."""
    return Limit(f"dingtalk:{app.pk}:api", app.plan_limits.calls_per_second, 1)


class DatabaseMeter:
    """Counts each call of one app before it is made, refusing it past the month's budget, and
    paces the app's second (``limiter``: the default one unless given)."""

    def __init__(
        self,
        app: DingTalkApp,
        *,
        clock: Callable[[], datetime] = timezone.now,
        limiter: Limiter | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ):
        self.app = app
        self.clock = clock
        self.limiter = limiter
        self.sleep = sleep

    def count_call(self) -> None:
        limit = self.app.plan_limits.calls_per_month
        if _increment(self.app, quota_month(self.clock()), limit) > limit:
            raise BudgetSpent(spent_message(self.app), code="budget")

    def pace(self, *, max_wait: float = MAX_WAIT_SECONDS) -> None:
        """Hold the call until the app's second has room (the edition's calls a second);
        ``RateLimited`` when that would take longer than ``max_wait``."""
        limit = app_limit(self.app)
        wait_for(
            self.limiter or limiter(),
            [limit],
            sleep=self.sleep,
            max_wait=max_wait,
            too_long=errors.RateLimited,
            what=f"the app's {limit.limit} calls a second",
        )


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
