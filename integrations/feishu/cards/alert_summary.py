"""What an incident card says about the incident's alerts: counts, when they started and were
last seen, the alert the body shows, and that alert's links (runbook, source, dashboard).

Every card click and card sync reads this, so the database's part is one query however many
alerts the incident has (a storm can merge thousands), written in SQL (``_summary_sql``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from django.db import connection
from django.utils.translation import gettext

from oncall.links import link_name
from oncall.models import Alert, Incident

# The alert's links on a card, at most.
MAX_ALERT_LINKS = 6


@dataclass(frozen=True)
class AlertSummary:
    firing: int
    total: int
    # The earliest start the alerts' sources gave (``Alert.started``), not when the console
    # heard of them: "first seen" is when the problem began.
    first_seen: datetime | None
    last_seen: datetime | None
    first: Alert | None  # the alert that opened the incident: the body shows it


def summarise(incident: Incident, alerts: Sequence[Alert] | None) -> AlertSummary:
    if alerts is not None:
        return _summary_of(alerts)
    if incident.pk is None:  # an example incident (the admin's test card) has no alerts stored
        return _summary_of([])
    return _summary_from_database(incident)


def _summary_of(alerts: Sequence[Alert]) -> AlertSummary:
    if not alerts:
        return AlertSummary(0, 0, None, None, None)
    return AlertSummary(
        firing=sum(1 for alert in alerts if alert.status == Alert.Status.FIRING),
        total=len(alerts),
        first_seen=min(alert.started for alert in alerts),
        last_seen=max(alert.last_seen for alert in alerts),
        first=min(alerts, key=lambda alert: (alert.first_seen, alert.pk or 0)),
    )


def _summary_from_database(incident: Incident) -> AlertSummary:
    # One query however many alerts the incident has (a storm can merge thousands): the first
    # alert, with the totals over all of them as window aggregates. Ordered by first_seen, the
    # first alert's own first_seen is the earliest.
    rows = Alert.objects.raw(_summary_sql(), [Alert.Status.FIRING, incident.pk])
    first = next(iter(rows), None)
    if first is None:
        return _summary_of([])
    return AlertSummary(
        firing=first.alerts_firing,
        total=first.alerts_total,
        first_seen=_aware(first.alerts_started),
        last_seen=_aware(first.alerts_last_seen),
        first=first,
    )


@lru_cache(maxsize=1)
def _summary_sql() -> str:
    """The summary query, written in SQL: every card click and card sync runs it, and Django
    took about 2 ms of CPU to compile it from the ORM's window expressions (four of them),
    three times what running it costs. PostgreSQL and SQLite (3.30+) both take it."""
    quote = connection.ops.quote_name

    def column(name: str) -> str:
        return quote(Alert._meta.get_field(name).column)

    first_seen, last_seen = column("first_seen"), column("last_seen")
    started_at = column("started_at")
    # ``Alert.started``: the source's start when it gave one (stored no later than first_seen).
    started = f"COALESCE({started_at}, {first_seen})"
    # Names from the model, quoted; the values are parameters.
    return (
        f"SELECT *, COUNT(*) OVER () AS alerts_total, "  # noqa: S608
        f"COUNT(*) FILTER (WHERE {column('status')} = %s) OVER () AS alerts_firing, "
        f"MAX({last_seen}) OVER () AS alerts_last_seen, "
        f"MIN({started}) OVER () AS alerts_started "
        f"FROM {quote(Alert._meta.db_table)} WHERE {column('incident')} = %s "
        f"ORDER BY {first_seen}, {column('id')} LIMIT 1"
    )


def _aware(value: datetime | str) -> datetime:
    """A timestamp computed in SQL, which Django does not convert as it converts a column:
    PostgreSQL gives a datetime, SQLite the text Django stored (UTC)."""
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def alert_links(alert: Alert | None) -> list[tuple[str, str]]:
    """The links of the alert the body shows (runbook, source, dashboard) as (text, href),
    each address once, at most ``MAX_ALERT_LINKS``: what a responder opens next. Read from
    the row the summary query returned, so they cost no query."""
    links = alert.links if alert is not None and isinstance(alert.links, list) else []
    found: dict[str, str] = {}
    for link in links:
        href = str(link.get("href") or "") if isinstance(link, dict) else ""
        if href.lower().startswith(("https://", "http://")) and href not in found:
            found[href] = link_name(str(link.get("text") or "")) or gettext("Link")
    # A parenthesis would end the lark_md link early.
    return [(text, href.replace(")", "%29")) for href, text in found.items()][:MAX_ALERT_LINKS]
