"""The figures: a fixed number of SQL statements for any amount of data, each an aggregate over
the incidents opened in the period in the chosen channels (the ``incident_channel_created``
index finds them), or over their alerts and timeline entries.

Every figure is about the same incidents: those *opened* in the period. Their alerts, claims
and notifications count wherever in time they happened, so that the figures add up (an
incident's claim the morning after still counts, and a period's alerts are the alerts of its
incidents).

* time to acknowledge (MTTA): from opening to the first claim or acknowledgement
  (``Incident.first_claimed_at``); incidents never claimed have none;
* time to resolve (MTTR): from opening to closing, for the incidents closed now;
* noise: alerts per incident, and the noise reduction, the share of alerts that did not
  become an incident of their own (``1 - incidents / alerts``);
* responders' load: the notifications each person received (``notified`` timeline entries
  record whom every escalation step reached, ``data["notified_users"]``) and the claims each
  made, and how many of either fell in the night (local hours, ``INSIGHTS_NIGHT_HOURS``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    JSONField,
    Max,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import ExtractHour, TruncDate
from django.db.models.lookups import GreaterThanOrEqual, LessThan, LessThanOrEqual

from oncall.insights.period import Period
from oncall.insights.sql import Percentile, SecondsBetween
from oncall.models import Alert, AlertSource, Channel, Incident, TimelineEntry
from oncall.timeline import person_fields

TOP = 10
# Per kind and person: the entries, and how many of those were at night. A claim names its
# person (the entry's actor), a notification lists the people it reached (unnested here).
PEOPLE_LOAD = {
    "postgresql": "SELECT entry.kind, COALESCE(entry.claimer, person::bigint), "
    "SUM(entry.entries), SUM(entry.night) FROM ({entries}) entry "
    "LEFT JOIN LATERAL jsonb_array_elements_text(entry.users) AS person ON TRUE "
    "GROUP BY 1, 2",
    "sqlite": "SELECT entry.kind, COALESCE(entry.claimer, CAST(person.value AS INTEGER)), "
    "SUM(entry.entries), SUM(entry.night) FROM ({entries}) entry "
    "LEFT JOIN json_each(entry.users) AS person GROUP BY 1, 2",
}
Kind = TimelineEntry.Kind


@dataclass(frozen=True)
class Night:
    """Local hours [start, end), wrapping past midnight when start > end (22-8)."""

    start: int
    end: int

    def holds(self, hour: Any) -> Q:
        """The condition "``hour`` (an expression) is a night hour"."""
        after, before = GreaterThanOrEqual(hour, self.start), LessThan(hour, self.end)
        return Q(after) | Q(before) if self.start > self.end else Q(after) & Q(before)


@dataclass(frozen=True)
class Scope:
    """What to compute: the channels (ids), the period, the acknowledgement target, the night."""

    channel_ids: list[int]
    period: Period
    ack_target: timedelta
    night: Night


def incidents_in(scope: Scope) -> QuerySet[Incident]:
    return Incident.objects.filter(
        channel_id__in=scope.channel_ids,
        created_at__gte=scope.period.start,
        created_at__lt=scope.period.end,
    ).order_by()


def compute(scope: Scope) -> dict[str, Any]:
    """Every figure, as plain data (the page, the CSV files and the API show the same)."""
    incidents = incidents_in(scope)
    # Joined, not a subquery: the per-channel counts group by the incident's channel.
    alerts = Alert.objects.filter(
        incident__channel_id__in=scope.channel_ids,
        incident__created_at__gte=scope.period.start,
        incident__created_at__lt=scope.period.end,
    ).order_by()
    # One pass over the alerts counts them per channel and per source (a few rows each).
    by_channel_and_source = list(
        alerts.values("incident__channel_id", "source_id").annotate(
            alerts=Count("pk"), events=Sum("event_count")
        )
    )
    channels = _per_channel(incidents, by_channel_and_source, scope)
    if len(channels) == 1:
        summary = {name: value for name, value in channels[0].items() if name != "channel"}
    else:  # percentiles do not add up: the whole scope's are computed over all its incidents
        summary = _shares(incidents.aggregate(**_time_figures(scope)))
        summary["alerts"] = sum(row["alerts"] for row in channels)
        summary["events"] = sum(row["events"] for row in channels)
        summary.update(_noise(summary["incidents"], summary["alerts"]))
    by_day, by_hour, by_weekday = _when(incidents, scope.period)
    period = scope.period
    return {
        "period": {
            "since": period.start.isoformat(),
            "until": period.end.isoformat(),
            "time_zone": str(period.tz),
            "first_day": period.first_day.isoformat(),
            "last_day": period.last_day.isoformat(),
        },
        "ack_target_seconds": int(scope.ack_target.total_seconds()),
        "night": {"start_hour": scope.night.start, "end_hour": scope.night.end},
        "summary": summary,
        "channels": channels,
        "by_day": by_day,
        "by_hour": by_hour,
        "by_weekday": by_weekday,
        "top_alerts": _top_alerts(alerts),
        "top_sources": _top_sources(by_channel_and_source),
        "responders": _responders(incidents, scope),
    }


# --- Response times ------------------------------------------------------------------------


def _time_figures(scope: Scope) -> dict[str, Any]:
    """The aggregates shared by the summary and the per-channel rows."""
    to_ack = SecondsBetween(F("first_claimed_at"), F("created_at"))
    to_close = SecondsBetween(F("closed_at"), F("created_at"))
    target = scope.ack_target.total_seconds()
    return {
        "incidents": Count("pk"),
        "acknowledged": Count("pk", filter=Q(first_claimed_at__isnull=False)),
        "closed": Count("pk", filter=Q(status=Incident.Status.CLOSED)),
        "ack_within_target": Count("pk", filter=Q(LessThanOrEqual(to_ack, Value(target)))),
        "mtta_median": Percentile(to_ack, 0.5),
        "mtta_p90": Percentile(to_ack, 0.9),
        # closed_at is empty while an incident is open: only closed ones have a time.
        "mttr_median": Percentile(to_close, 0.5),
        "mttr_p90": Percentile(to_close, 0.9),
    }


def _shares(row: dict[str, Any]) -> dict[str, Any]:
    """Rounded times and the shares of all incidents acknowledged, and within the target."""
    for name in ("mtta_median", "mtta_p90", "mttr_median", "mttr_p90"):
        if row[name] is not None:
            row[name] = round(row[name], 1)
    total = row["incidents"]
    row["acknowledged_share"] = round(row["acknowledged"] / total, 4) if total else None
    row["ack_within_target_share"] = round(row["ack_within_target"] / total, 4) if total else None
    return row


def _noise(incidents: int, alerts: int) -> dict[str, Any]:
    return {
        "alerts_per_incident": round(alerts / incidents, 2) if incidents else None,
        "noise_reduction": round(1 - incidents / alerts, 4) if alerts else None,
    }


def _per_channel(
    incidents: QuerySet[Incident], alert_counts: list[dict[str, Any]], scope: Scope
) -> list[dict[str, Any]]:
    """One row per channel of the scope, those without incidents included, busiest first."""
    times = {
        row.pop("channel_id"): row
        for row in incidents.values("channel_id").annotate(**_time_figures(scope))
    }
    counted: dict[int, dict[str, int]] = defaultdict(lambda: {"alerts": 0, "events": 0})
    for row in alert_counts:
        totals = counted[row["incident__channel_id"]]
        totals["alerts"] += row["alerts"]
        totals["events"] += row["events"] or 0
    empty = {name: 0 for name in ("incidents", "acknowledged", "closed", "ack_within_target")}
    empty.update(dict.fromkeys(("mtta_median", "mtta_p90", "mttr_median", "mttr_p90")))
    rows = []
    for channel in Channel.objects.filter(pk__in=scope.channel_ids).order_by("name"):
        row = _shares({**empty, **times.get(channel.pk, {})})
        row.update(counted[channel.pk])
        row.update(_noise(row["incidents"], row["alerts"]))
        rows.append({"channel": {"id": str(channel.public_id), "name": channel.name}, **row})
    rows.sort(key=lambda row: -row["incidents"])
    return rows


# --- When ---------------------------------------------------------------------------------


def _when(
    incidents: QuerySet[Incident], period: Period
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Incidents per local day, per hour of the day and per ISO weekday (1 is Monday): one
    query, counted per day and hour (at most 366 x 24 rows), summed here three ways."""
    counted = (
        incidents.annotate(
            day=TruncDate("created_at", tzinfo=period.tz),
            hour=ExtractHour("created_at", tzinfo=period.tz),
        )
        .values("day", "hour")
        .annotate(n=Count("pk"))
        .values_list("day", "hour", "n")
    )
    days: dict[date, int] = defaultdict(int)
    hours: dict[int, int] = defaultdict(int)
    weekdays: dict[int, int] = defaultdict(int)
    for day, hour, n in counted:
        days[day] += n
        hours[hour] += n
        weekdays[day.isoweekday()] += n
    return (
        [{"date": day.isoformat(), "incidents": days[day]} for day in period.days()],
        [{"hour": hour, "incidents": hours[hour]} for hour in range(24)],
        [{"weekday": day, "incidents": weekdays[day]} for day in range(1, 8)],
    )


# --- What ---------------------------------------------------------------------------------


def _top_alerts(alerts: QuerySet[Alert]) -> list[dict[str, Any]]:
    """The alerts that fired most often (one ``alert_key``: each firing is an alert; a
    re-sent or re-firing event of an open alert is one more event), with a title of theirs
    (the greatest: titles of one key rarely differ). No count of distinct incidents: it
    would make PostgreSQL sort every alert instead of hashing them."""
    rows = (
        alerts.values("alert_key")
        .annotate(
            alerts=Count("pk"),
            events=Sum("event_count"),
            title=Max("title"),
        )
        .order_by("-alerts", "-events", "alert_key")[:TOP]
    )
    return [dict(row) for row in rows]


def _top_sources(alert_counts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alert sources that sent the most alerts (alerts without a source, e.g. of a deleted
    source, count together), from the per channel and source counts."""
    counted: dict[int | None, dict[str, int]] = defaultdict(lambda: {"alerts": 0, "events": 0})
    for row in alert_counts:
        totals = counted[row["source_id"]]
        totals["alerts"] += row["alerts"]
        totals["events"] += row["events"] or 0
    busiest = sorted(
        counted.items(), key=lambda item: (-item[1]["alerts"], -item[1]["events"], item[0] or 0)
    )[:TOP]
    sources = AlertSource.objects.in_bulk([pk for pk, _totals in busiest if pk is not None])
    answer = []
    for pk, totals in busiest:
        source = sources.get(pk)
        described = (
            {"id": str(source.public_id), "name": source.name, "kind": source.kind}
            if source
            else None
        )
        answer.append({"source": described, **totals})
    return answer


# Timeline entries that notify people, each listing whom it reached in ``notified_users``.
NOTIFYING_KINDS = (Kind.NOTIFIED, Kind.ASSIGNED)

# --- Who ----------------------------------------------------------------------------------


def _responders(incidents: QuerySet[Incident], scope: Scope) -> list[dict[str, Any]]:
    """Per person: notifications received and claims made, each with its night share; the
    busiest first."""
    load: dict[int, dict[str, int]] = {}

    def person(user_id: int) -> dict[str, int]:
        return load.setdefault(
            user_id,
            {"notifications": 0, "night_notifications": 0, "claims": 0, "night_claims": 0},
        )

    for kind, user_id, count, night in _people_load(incidents, scope):
        if user_id is None:
            continue  # a notification recorded before people's ids were: nobody to count
        figures = person(user_id)
        if kind == Kind.CLAIMED:
            figures["claims"] += count
            figures["night_claims"] += night
        else:  # an escalation step, or an assignment / a page by hand: both notify people
            figures["notifications"] += count
            figures["night_notifications"] += night
    users = get_user_model().objects.in_bulk(list(load))
    rows = [
        {
            "user": person_fields(user),
            **figures,
        }
        for user_id, figures in load.items()
        if (user := users.get(user_id)) is not None  # deleted since: nobody to show
    ]
    rows.sort(key=lambda r: (-r["notifications"] - r["claims"], r["user"]["name"].lower()))
    return rows


def _people_load(
    incidents: QuerySet[Incident], scope: Scope
) -> list[tuple[str, int | None, int, int]]:
    """(kind, person, entries, at night) for claims by people (an alert source's
    acknowledgement has none) and notifications, in one pass over the timeline. The ORM writes
    the query of the entries (with the time zone's hour); only the unnesting of a
    notification's list of people, which the ORM cannot express, is written here, once per
    database. Entries are grouped by person and list first: lists repeat (a level notifies
    the same people), so only a few distinct ones are unnested, whatever the number of
    entries."""
    if not scope.channel_ids:
        return []  # an empty IN has no SQL: the ORM would not write the query
    hour = ExtractHour("created_at", tzinfo=scope.period.tz)
    listed = KeyTransform("notified_users", "data")
    inner = (
        TimelineEntry.objects.filter(
            Q(kind__in=NOTIFYING_KINDS) | Q(kind=Kind.CLAIMED, actor__isnull=False),
            incident__in=incidents.values("pk"),
        )
        .order_by()
        .annotate(
            # The person a claim counts for; an assignment's or a page's actor is who asked,
            # not who was notified, so only the list counts for those.
            claimer=Case(
                When(kind=Kind.CLAIMED, then=F("actor_id")),
                default=None,
                output_field=IntegerField(),
            ),
            users=Case(
                When(kind__in=NOTIFYING_KINDS, then=listed),
                default=None,
                output_field=JSONField(),
            ),
        )
        .values("kind", "claimer", "users")
        .annotate(entries=Count("pk"), night=Sum(_night_flag(hour, scope)))
    )
    sql, params = inner.query.sql_with_params()
    # The ORM's SQL goes in as SQL, its parameters apart: nothing of a user's is formatted in.
    load = PEOPLE_LOAD[connection.vendor].format(entries=sql)
    with connection.cursor() as cursor:
        cursor.execute(load, params)
        # SUM answers numeric (Decimal) on PostgreSQL.
        return [
            (kind, None if person is None else int(person), int(count), int(night or 0))
            for kind, person, count, night in cursor
        ]


def _night_flag(hour: Any, scope: Scope) -> Case:
    return Case(
        When(scope.night.holds(hour), then=Value(1)), default=Value(0), output_field=IntegerField()
    )
