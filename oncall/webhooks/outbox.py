"""Writing webhook events in the transaction of the change they report (the outbox).

Incident events come from the timeline (``oncall.timeline.record`` / ``record_many``, the one
place entries are written, call :func:`write_entries`); alert events from the merge
(``oncall.merge``), which writes its entries' events and its alerts' events together, in the
order they happened. Nothing is written when no enabled endpoint wants the event, which keeps
a console without webhooks exactly as fast as before.

Each event gets the incident's next sequence number from its ``WebhookSequence`` row, locked
until the transaction ends: two transactions that change one incident number their events in
the order they commit, so receivers can order by ``sequence``. The event and one delivery per
endpoint are written with the change; after commit, one task hands the deliveries out on the
webhooks queue (if that is lost, the sweep sends them).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from oncall.counted import CountedInCache
from oncall.models import (
    Alert,
    Incident,
    TimelineEntry,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSequence,
)
from oncall.models import WebhookEventType as Type
from oncall.webhooks import payload
from oncall.webhooks.signing import new_message_id

Kind = TimelineEntry.Kind
ENTRY_EVENTS = {
    Kind.CREATED: Type.INCIDENT_TRIGGERED,
    Kind.CLAIMED: Type.INCIDENT_ACKNOWLEDGED,
    Kind.UNCLAIMED: Type.INCIDENT_UNACKNOWLEDGED,
    Kind.SNOOZED: Type.INCIDENT_SNOOZED,
    Kind.WOKEN: Type.INCIDENT_WOKEN,
    Kind.CLOSED: Type.INCIDENT_CLOSED,
    Kind.REOPENED: Type.INCIDENT_REOPENED,
    Kind.MERGED: Type.INCIDENT_MERGED,
    Kind.NOTE: Type.INCIDENT_NOTE,
    Kind.ASSIGNED: Type.INCIDENT_ASSIGNED,
    # NOTIFIED only when an escalation step notified a level (``data["level"]``).
    Kind.NOTIFIED: Type.INCIDENT_ASSIGNED,
}


@dataclass(frozen=True)
class Happening:
    """Something an endpoint may be told about, before it is numbered and written."""

    event_type: str
    incident_id: int
    at: datetime
    alert_id: int | None = None
    actor: Any = None
    detail: dict[str, Any] = field(default_factory=dict)


def for_entry(entry: TimelineEntry) -> Happening | None:
    """The incident event a timeline entry reports, if any."""
    event_type = ENTRY_EVENTS.get(entry.kind)
    if event_type is None or (entry.kind == Kind.NOTIFIED and "level" not in entry.data):
        return None
    detail: dict[str, Any] = {"message": entry.message}
    if "level" in entry.data:
        detail["level"] = entry.data["level"]
    if entry.kind == Kind.NOTE and entry.note is not None:
        detail["note"] = entry.note.body
    return Happening(event_type, entry.incident_id, entry.created_at, None, entry.actor, detail)


def for_alert(event_type: str, alert: Alert, at: datetime) -> Happening:
    return Happening(event_type, alert.incident_id, at, alert.pk)


def write_entries(entries: list[TimelineEntry]) -> None:
    write([h for h in map(for_entry, entries) if h is not None])


def _any_enabled() -> bool:
    return WebhookEndpoint.objects.filter(enabled=True).exists()


# Whether any endpoint is enabled, asked on every change: a console without webhooks (most)
# pays a cache read for it, not a query. Forgotten on every save and delete of an endpoint
# (``OncallConfig.ready``) and when one is disabled automatically (``delivery``).
ANY_ENABLED = CountedInCache("oncall:webhook-endpoints-enabled", _any_enabled)


def listening() -> bool:
    """Whether any endpoint may want an event: a caller that would prepare what ``write``
    reads (the merge writes its alerts first) asks before it does."""
    return ANY_ENABLED.get()


def write(happenings: list[Happening]) -> None:
    """Write the events (and their deliveries) that enabled endpoints want. Call it inside
    the change's transaction."""
    if not happenings or not listening():
        return
    endpoints = list(WebhookEndpoint.objects.filter(enabled=True))
    if not endpoints:
        return
    incidents = Incident.objects.select_related(
        "channel", "claimed_by", "closed_by", "created_by", "assigned_to", "merged_into"
    ).in_bulk({h.incident_id for h in happenings})
    wanted = _targets(happenings, endpoints, incidents)
    if not wanted:
        return
    numbers = reserve_sequences(Counter(h.incident_id for h, _ in wanted))
    events = _build_events(wanted, incidents, numbers)
    WebhookEvent.objects.bulk_create([event for event, _ in events])
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event=event,
            incident_id=event.incident_id,
            sequence=event.sequence,
            next_attempt_at=event.occurred_at,
        )
        for event, targets in events
        for endpoint in targets
    )
    hand_out_after_commit([delivery.pk for delivery in deliveries])


def hand_out_after_commit(delivery_ids: list[int]) -> None:
    from oncall.webhooks.tasks import hand_out  # tasks import the delivery, which imports this

    # robust: a broker that is down must not make the committed change look failed; the
    # sweep sends what was not handed out.
    transaction.on_commit(lambda: hand_out.delay(delivery_ids), robust=True)


def _targets(
    happenings: list[Happening],
    endpoints: list[WebhookEndpoint],
    incidents: dict[int, Incident],
) -> list[tuple[Happening, list[WebhookEndpoint]]]:
    covered = _channels_of(endpoints)
    wanted = []
    for happening in happenings:
        incident = incidents.get(happening.incident_id)
        if incident is None:
            continue
        targets = [
            e
            for e in endpoints
            if e.wants(happening.event_type, incident.channel_id, covered.get(e.pk, set()))
        ]
        if targets:
            wanted.append((happening, targets))
    return wanted


def _channels_of(endpoints: list[WebhookEndpoint]) -> dict[int, set[int]]:
    some = [e.pk for e in endpoints if not e.all_channels]
    covered: dict[int, set[int]] = defaultdict(set)
    if some:
        through = WebhookEndpoint.channels.through.objects.filter(webhookendpoint_id__in=some)
        for endpoint_id, channel_id in through.values_list("webhookendpoint_id", "channel_id"):
            covered[endpoint_id].add(channel_id)
    return covered


def reserve_sequences(counts: Counter[int]) -> dict[int, int]:
    """The first of ``counts[incident]`` new sequence numbers of each incident, taken in one
    statement that locks the incidents' sequence rows (in id order) until commit.

    The incidents' rows are locked first, in id order: every writer takes an incident's row
    before its sequence row (the lifecycle and the escalation step hold the row already).
    Without it, a merge batch holding a sequence row and then waiting for the incident's row
    (to close it when every alert recovered) deadlocks with an escalation step holding that
    row and waiting for the sequence row."""
    table = connection.ops.quote_name(WebhookSequence._meta.db_table)
    ids = sorted(counts)
    list(Incident.objects.select_for_update().filter(pk__in=ids).order_by("pk").values("pk"))
    values = ", ".join(["(%s, %s)"] * len(ids))
    # Identifiers come from the model; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (incident_id, value) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (incident_id) DO UPDATE SET value = {table}.value + excluded.value "
        "RETURNING incident_id, value"
    )
    params = [item for incident_id in ids for item in (incident_id, counts[incident_id])]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {incident_id: last - counts[incident_id] + 1 for incident_id, last in rows}


def _build_events(
    wanted: list[tuple[Happening, list[WebhookEndpoint]]],
    incidents: dict[int, Incident],
    numbers: dict[int, int],
) -> list[tuple[WebhookEvent, list[WebhookEndpoint]]]:
    alert_lists = _alert_lists({h.incident_id for h, _ in wanted if h.alert_id is None})
    alerts = Alert.objects.select_related("source").in_bulk(
        {h.alert_id for h, _ in wanted if h.alert_id is not None}
    )
    events = []
    for happening, targets in wanted:
        incident = incidents[happening.incident_id]
        sequence = numbers[incident.pk]
        numbers[incident.pk] += 1
        event_id = new_message_id()
        body = payload.event_body(
            event_id=event_id,
            event_type=happening.event_type,
            at=happening.at,
            sequence=sequence,
            incident=incident,
            alerts=alert_lists.get(incident.pk, []) if happening.alert_id is None else None,
            alert=alerts.get(happening.alert_id) if happening.alert_id else None,
            actor=happening.actor,
            detail=happening.detail,
        )
        event = WebhookEvent(
            event_id=event_id,
            event_type=happening.event_type,
            incident=incident,
            sequence=sequence,
            occurred_at=happening.at,
            body=payload.encode(body),
        )
        events.append((event, targets))
    return events


def _alert_lists(incident_ids: set[int]) -> dict[int, list[Alert]]:
    """Each incident's latest ``payload.MAX_ALERTS`` alerts, oldest first: only those are read
    (ranked in SQL), however many alerts an incident has."""
    lists: dict[int, list[Alert]] = defaultdict(list)
    if not incident_ids:
        return lists
    latest_first = [F("first_seen").desc(), F("id").desc()]
    rank = Window(RowNumber(), partition_by=[F("incident_id")], order_by=latest_first)
    rows = (
        Alert.objects.filter(incident_id__in=incident_ids)
        .annotate(rank=rank)
        .filter(rank__lte=payload.MAX_ALERTS)
        .select_related("source")
        .order_by("incident_id", "first_seen", "id")
    )
    for alert in rows:
        lists[alert.incident_id].append(alert)
    return lists
