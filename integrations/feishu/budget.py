"""The API budget: every Open API call of an app, counted per calendar month against its
tenant's quota (the setup guide's "调用量限制": the basic free edition allows 10,000 calls a
month, refreshed on the 1st; the other editions are unlimited).

* ``DatabaseMeter`` is the client's ``Meter``: one upsert per call (``INSERT ... ON CONFLICT DO
  UPDATE ... RETURNING``, on PostgreSQL and SQLite) adds the call to the app's row of the month
  and reads back the count, so two processes never lose a call and each call sees its own
  number. The one call whose number is exactly 80 % or 100 % of the limit is the one that
  warns: no other state to claim, so no warning is lost or given twice, whatever the
  concurrency. (A limit lowered below the count this month is past its thresholds without
  reaching them: the admin page and the API show the level, the timeline gets no warning.)
* ``announce(client, incident)``: a card send (or update) whose call crossed a threshold writes
  the warning on that incident's timeline; the admin page and the API show it too.
* Spent: Feishu answers 99991403 once the tenant's quota is spent. The console counts, but does
  not stop on its own count: Feishu's count is the one that matters (other apps of the tenant
  share it, and calls made before the console counted are in it), and a card withheld on a
  wrong estimate is worse than a refused call. After Feishu's 99991403 the app stops calling
  until the month ends or its plan here changes (an admin who upgraded the tenant says so),
  and every delivery fails with ``spent_message``.

The month is Feishu's, which starts on the 1st in China's time (Feishu refreshes quotas
"每月1日"; its servers keep Beijing time). Lark's month is assumed to be the same (unsure).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.feishu.client import errors
from integrations.feishu.models import ApiPlan, ApiUsage, FeishuApp
from integrations.feishu.timeline_words import feishu_phrase
from oncall.timeline_messages import Phrase

QUOTA_TIMEZONE = ZoneInfo("Asia/Shanghai")
THRESHOLDS = (80, 100)

# Names fixed by ApiUsage's fields; double quotes work in PostgreSQL and SQLite. A call is not
# counted while Feishu's "spent" holds for the app's current plan (it is not sent either).
_COUNT_CALL = (
    'INSERT INTO "integrations_apiusage" ("app_id", "month", "calls", "exhausted_plan") '
    "VALUES (%s, %s, 1, '') "
    'ON CONFLICT ("app_id", "month") DO UPDATE SET "calls" = "integrations_apiusage"."calls" + '
    'CASE WHEN "integrations_apiusage"."exhausted_plan" = %s THEN 0 ELSE 1 END '
    'RETURNING "calls", "exhausted_plan"'
)


def quota_month(now: datetime | None = None) -> date:
    """The first day of Feishu's quota month that ``now`` falls in."""
    local = (now or timezone.now()).astimezone(QUOTA_TIMEZONE)
    return local.date().replace(day=1)


def plan_key(app: FeishuApp) -> str:
    """The app's plan as stored with Feishu's "spent": a change of either field calls again."""
    return f"{app.api_plan}:{app.api_monthly_quota or ''}"


def threshold_calls(limit: int, percent: int) -> int:
    """The call that reaches ``percent`` of ``limit`` (80 % of 10,000: the 8,000th)."""
    return math.ceil(limit * percent / 100)


def plan_words(app: FeishuApp) -> str:
    return str(_plan_phrase(app))


def _plan_phrase(app: FeishuApp) -> Phrase:
    if app.api_monthly_quota:
        return feishu_phrase("feishu.plan.quota")
    if app.api_plan == ApiPlan.FREE:
        return feishu_phrase("feishu.plan.free")
    return feishu_phrase("feishu.plan.unlimited")


def spent_message(app: FeishuApp) -> str:
    limit = app.monthly_call_limit
    if limit is None:
        return _(
            "Feishu's monthly API quota for this app is spent, although its plan here is "
            "unlimited; cards resume next month or once the tenant's Feishu edition allows more "
            "calls (check the plan in the app's settings)."
        )
    return _(
        "Feishu's monthly API quota for this app is spent (%(limit)s calls on %(plan)s); "
        "cards resume next month or after changing the plan."
    ) % {"limit": f"{limit:,}", "plan": plan_words(app)}


def warning_message(app: FeishuApp, percent: int) -> str:
    return str(warning_phrase(app, percent))


def warning_phrase(app: FeishuApp, percent: int) -> Phrase:
    """The warning as a timeline phrase: each reader reads it in their language."""
    limit = app.monthly_call_limit or 0
    return feishu_phrase(
        "feishu.budget_warning",
        app=app.name,
        percent=percent,
        limit=f"{limit:,}",
        plan=_plan_phrase(app),
    )


# --- Counting ---------------------------------------------------------------------------------


class DatabaseMeter:
    """Counts one app's calls in ``ApiUsage`` (see the module docstring). One per client; the
    thresholds its calls crossed wait in ``crossings`` until ``announce`` takes them."""

    def __init__(self, app: FeishuApp, *, clock: Callable[[], datetime] = timezone.now):
        self.app = app
        self._clock = clock
        self.crossings: list[int] = []

    def count_call(self) -> None:
        month = quota_month(self._clock())
        plan = plan_key(self.app)
        calls, exhausted_plan = self._increment(month, plan)
        if exhausted_plan == plan:  # not counted either: ``calls`` repeats the last number
            raise errors.QuotaExhausted(
                "quota spent (Feishu code 99991403 earlier this month)",
                code=errors.QUOTA_EXHAUSTED_CODE,
                explanation=spent_message(self.app),
            )
        limit = self.app.monthly_call_limit
        if limit is None:
            return
        # Each counted call has a number of its own: exactly one call reaches a threshold.
        self.crossings += [p for p in THRESHOLDS if calls == threshold_calls(limit, p)]

    def quota_refused(self, exc: errors.QuotaExhausted) -> errors.QuotaExhausted:
        ApiUsage.objects.filter(app=self.app, month=quota_month(self._clock())).update(
            exhausted_plan=plan_key(self.app), exhausted_at=timezone.now()
        )
        return errors.QuotaExhausted(
            exc.msg,
            code=exc.code,
            http_status=exc.http_status,
            explanation=spent_message(self.app),
        )

    def take_crossings(self) -> list[int]:
        taken, self.crossings = self.crossings, []
        return taken

    def _increment(self, month: date, plan: str) -> tuple[Any, ...]:
        """Add the call and read the row back. On PostgreSQL, outside a caller's transaction,
        the commit does not wait for the WAL to reach the disk (``synchronous_commit off`` for
        this transaction only): measured on this machine under load, 6.7 ms a call with the
        wait and 2.3 ms without. A PostgreSQL crash could then lose the last fraction of a
        second of counts (never corrupt them): an estimate that Feishu enforces anyway may
        lose a few calls; a card should not wait on a disk flush for it."""
        connection = connections[router.db_for_write(ApiUsage)]
        month_value = connection.ops.adapt_datefield_value(month)
        params = [self.app.pk, month_value, plan]
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            with connection.cursor() as cursor:
                cursor.execute(_COUNT_CALL, params)
                return tuple(cursor.fetchone())
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            cursor.execute(_COUNT_CALL, params)
            return tuple(cursor.fetchone())


def announce(client: Any, incident: Any) -> None:
    """Write on ``incident``'s timeline (an ``Incident`` or its id) the warnings that the calls
    of its send or update crossed (usually none: no query then)."""
    meter = getattr(client, "meter", None)
    if not isinstance(meter, DatabaseMeter) or not meter.crossings:
        return
    from oncall.models import Incident, TimelineEntry
    from oncall.timeline import Actor, record

    crossed = meter.take_crossings()
    if isinstance(incident, int):
        incident = Incident.objects.filter(pk=incident).first()
        if incident is None:
            return
    for percent in crossed:
        record(
            incident,
            TimelineEntry.Kind.ESCALATION,
            Actor.system(),
            warning_phrase(meter.app, percent),
            data={"feishu_api_budget": percent},
        )


# --- Showing it -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Usage:
    """An app's calls this month, as the admin page and the API show them."""

    month: date
    calls: int
    limit: int | None
    spent: bool

    @property
    def percent(self) -> float | None:
        if not self.limit:
            return None
        return round(100 * self.calls / self.limit, 1)

    @property
    def level(self) -> str:
        """ "spent", "100", "80" or "" (fine): what the admin page and the API warn about."""
        if self.spent:
            return "spent"
        if self.limit is None:
            return ""
        for percent in reversed(THRESHOLDS):
            if self.calls >= threshold_calls(self.limit, percent):
                return str(percent)
        return ""


def usage(app: FeishuApp, now: datetime | None = None) -> Usage:
    month = quota_month(now)
    row = ApiUsage.objects.filter(app=app, month=month).first()
    calls = row.calls if row else 0
    spent = bool(row and row.exhausted_plan == plan_key(app))
    return Usage(month=month, calls=calls, limit=app.monthly_call_limit, spent=spent)


def describe(app: FeishuApp, current: Usage | None = None) -> str:
    """One sentence on this month's calls, with the warning when there is one."""
    current = current or usage(app)
    month = f"{current.month:%Y-%m}"
    if current.limit is None:
        return _("%(calls)s Open API calls in %(month)s (no monthly limit).") % {
            "calls": f"{current.calls:,}",
            "month": month,
        }
    counted = _("%(calls)s of %(limit)s Open API calls in %(month)s (%(percent)s %%).") % {
        "calls": f"{current.calls:,}",
        "limit": f"{current.limit:,}",
        "month": month,
        "percent": f"{current.percent:g}",
    }
    if current.level == "spent":
        return f"{counted} {spent_message(app)}"
    if current.level:
        return f"{counted} {warning_message(app, int(current.level))}"
    return counted
