"""Alert ingestion: accept a push (parse, route, store durably), then process it into incidents.

``accept`` runs in the push request and does the least that lets the sender get a truthful
answer: parse (so bad payloads get a 400 with the reason), route (so "no route" is said in the
response), store one ``InboundEvent`` row, and enqueue its processing after commit.

``process`` runs in a worker. It locks the inbound row (a second delivery of the same task finds
it processed and returns), locks the target channels in id order (so two batches for one
channel merge one after the other and never deadlock), and merges each event into its alert and
incident. A batch whose task was lost stays ``pending`` and the sweep hands it out again.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from dataclasses import replace
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from oncall import lifecycle
from oncall.events import AcceptResult, AlertEvent, EventKind, PayloadError, Severity, stable_key
from oncall.models import (
    ActionSource,
    Alert,
    AlertSource,
    Channel,
    Counter,
    InboundEvent,
    Incident,
    TimelineEntry,
)
from oncall.routing import RoutingTable
from oncall.sources import source_module
from oncall.timeline import Actor, record

logger = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5
Kind = TimelineEntry.Kind


# --- accept (web request) ----------------------------------------------------------------------


def accept(source: AlertSource, payload: Any, *, body_bytes: int) -> AcceptResult:
    """Parse, route and store a push. Raises ``PayloadError``; stores nothing in that case."""
    module = source_module(source.kind)
    events = [_with_overrides(source, event) for event in module.parse(payload)]
    notes = _sender_notes(module, payload)
    table = RoutingTable.load(source)
    routed, unrouted = [], []
    for event in events:
        channel_ids = table.channels_for(event)
        if channel_ids:
            routed.append({"event": event.to_json(), "channels": channel_ids})
        else:
            unrouted.append(event.alert_key)
    if unrouted:
        notes.append(
            f"{len(unrouted)} event(s) matched no route and the source has no default "
            f"route: {', '.join(unrouted[:10])}"
        )
    if not events:
        notes.append("The payload holds no alert to act on.")
    with transaction.atomic():
        inbound = InboundEvent.objects.create(
            source=source,
            received_at=timezone.now(),
            status=_initial_status(routed, unrouted),
            events=routed,
            notes=notes,
            body_bytes=body_bytes,
            processed_at=None if routed else timezone.now(),
        )
        if routed:
            _enqueue(inbound.pk)
    return AcceptResult(
        request_id=str(inbound.request_id), events=events, unrouted=unrouted, notes=notes
    )


def _with_overrides(source: AlertSource, event: AlertEvent) -> AlertEvent:
    severity = source.map_severity(event.raw_severity, event.severity)
    return event if severity == event.severity else replace(event, severity=severity)


def _sender_notes(module: Any, payload: Any) -> list[str]:
    truncated = getattr(module, "truncated_count", lambda payload: 0)(payload)
    if truncated:
        return [
            f"The sender left out {truncated} alert(s) of this group (truncatedAlerts); "
            "raise its max_alerts to receive them."
        ]
    return []


def _initial_status(routed: list, unrouted: list) -> InboundEvent.Status:
    if routed:
        return InboundEvent.Status.PENDING
    return InboundEvent.Status.UNROUTED if unrouted else InboundEvent.Status.PROCESSED


def _enqueue(inbound_id: int) -> None:
    from oncall.tasks import process_inbound_event  # tasks import this module

    transaction.on_commit(lambda: process_inbound_event.delay(inbound_id))


# --- process (worker) --------------------------------------------------------------------------


def process(inbound_id: int) -> bool:
    """Merge a stored push into alerts and incidents, exactly once. True if it did the work."""
    try:
        with transaction.atomic():
            inbound = _lock_pending(inbound_id)
            if inbound is None:
                return False
            _merge_all(inbound)
            inbound.status = InboundEvent.Status.PROCESSED
            inbound.processed_at = timezone.now()
            inbound.attempts = F("attempts") + 1
            inbound.error = ""
            inbound.save(update_fields=["status", "processed_at", "attempts", "error"])
            return True
    except Exception as exc:
        _record_failure(inbound_id, exc)
        raise


def _lock_pending(inbound_id: int) -> InboundEvent | None:
    # skip_locked: if another worker holds this row it is processing it right now.
    return (
        InboundEvent.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("source")
        .filter(pk=inbound_id, status=InboundEvent.Status.PENDING)
        .first()
    )


def _record_failure(inbound_id: int, exc: Exception) -> None:
    logger.exception("processing inbound event %s failed", inbound_id)
    InboundEvent.objects.filter(pk=inbound_id, status=InboundEvent.Status.PENDING).update(
        attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
    )
    InboundEvent.objects.filter(
        pk=inbound_id, status=InboundEvent.Status.PENDING, attempts__gte=MAX_PROCESS_ATTEMPTS
    ).update(status=InboundEvent.Status.FAILED)


def _merge_all(inbound: InboundEvent) -> None:
    channel_ids = sorted({cid for item in inbound.events for cid in item["channels"]})
    locked = Channel.objects.select_for_update().filter(pk__in=channel_ids).order_by("pk")
    channels = {c.pk: c for c in locked}
    merger = Merger(inbound.source, inbound.received_at)
    for item in inbound.events:
        event = AlertEvent.from_json(item["event"])
        for channel_id in item["channels"]:
            channel = channels.get(channel_id)
            if channel is None:  # deleted since the push was accepted
                continue
            merger.apply(channel, event)


class Merger:
    """Merges events of one source, received at one moment, into alerts and incidents."""

    def __init__(self, source: AlertSource, at: datetime) -> None:
        self.source = source
        self.at = at
        self.actor = Actor(None, ActionSource.INTEGRATION, {"name": source.name})

    def apply(self, channel: Channel, event: AlertEvent) -> None:
        alert = self._latest_alert(channel, event.alert_key)
        match event.kind:
            case EventKind.FIRING if alert and alert.incident.is_open:
                self._merge_firing(alert, event)
            case EventKind.FIRING:
                self._open_alert(channel, event)
            case EventKind.RESOLVED if alert and alert.status == Alert.Status.FIRING:
                self._resolve(channel, alert, event)
            case EventKind.ACKNOWLEDGED if alert and alert.incident.is_open:
                self._acknowledge(alert)

    def _latest_alert(self, channel: Channel, alert_key: str) -> Alert | None:
        return (
            Alert.objects.filter(channel=channel, source=self.source, alert_key=alert_key)
            .select_related("incident")
            .order_by("-pk")
            .first()
        )

    def _merge_firing(self, alert: Alert, event: AlertEvent) -> None:
        refired = alert.status == Alert.Status.RESOLVED
        _copy_event(alert, event)
        alert.status = Alert.Status.FIRING
        alert.resolved_at = None
        alert.last_seen = self.at
        alert.event_count = F("event_count") + 1
        alert.save()
        incident = alert.incident
        _touch_incident(incident, event.severity, self.at, new_alert=False)
        if refired:
            record(
                incident,
                Kind.ALERT_REFIRED,
                self.actor,
                f"Alert firing again: {event.title}",
                data={"alert": str(alert.public_id)},
                at=self.at,
            )

    def _open_alert(self, channel: Channel, event: AlertEvent) -> None:
        key = group_key(channel, self.source, event)
        incident = self._open_incident_for(channel, key)
        if incident is None:
            incident = self._new_incident(channel, key, event)
        alert = Alert(
            channel=channel,
            source=self.source,
            incident=incident,
            alert_key=event.alert_key,
            first_seen=self.at,
            last_seen=self.at,
        )
        _copy_event(alert, event)
        alert.save()
        _touch_incident(incident, event.severity, self.at, new_alert=True)
        record(
            incident,
            Kind.ALERT_ADDED,
            self.actor,
            f"Alert added: {event.title}",
            data={"alert": str(alert.public_id), "severity": event.severity},
            at=self.at,
        )

    def _open_incident_for(self, channel: Channel, key: str) -> Incident | None:
        candidates = Incident.objects.filter(channel=channel, group_key=key).exclude(
            status=Incident.Status.CLOSED
        )
        if channel.group_window is not None:
            candidates = candidates.filter(created_at__gte=self.at - channel.group_window)
        return candidates.order_by("-created_at").first()

    def _new_incident(self, channel: Channel, key: str, event: AlertEvent) -> Incident:
        incident = Incident.objects.create(
            number=next_incident_number(),
            channel=channel,
            title=event.title,
            severity=event.severity,
            group_key=key,
            created_at=self.at,
        )
        record(
            incident, Kind.CREATED, self.actor, f"Incident opened by {self.source.name}", at=self.at
        )
        return incident

    def _resolve(self, channel: Channel, alert: Alert, event: AlertEvent) -> None:
        alert.status = Alert.Status.RESOLVED
        alert.resolved_at = event.ends_at or self.at
        alert.last_seen = self.at
        alert.event_count = F("event_count") + 1
        alert.save(update_fields=["status", "resolved_at", "last_seen", "event_count"])
        incident = alert.incident
        if not incident.is_open:
            return
        record(
            incident,
            Kind.ALERT_RESOLVED,
            self.actor,
            f"Alert recovered: {alert.title}",
            data={"alert": str(alert.public_id)},
            at=self.at,
        )
        all_recovered = not incident.alerts.filter(status=Alert.Status.FIRING).exists()
        if all_recovered and channel.auto_close:
            lifecycle.close(incident, Actor.system(), reason="every alert recovered")

    def _acknowledge(self, alert: Alert) -> None:
        with suppress(lifecycle.TransitionRefused):  # already claimed: that person keeps it
            lifecycle.claim(alert.incident, self.actor)


def _copy_event(alert: Alert, event: AlertEvent) -> None:
    alert.title = event.title
    alert.description = event.description
    alert.severity = event.severity
    alert.raw_severity = event.raw_severity[:64]
    alert.labels = event.labels
    alert.links = [{"href": link.href, "text": link.text} for link in event.links]
    alert.images = [{"src": i.src, "alt": i.alt, "href": i.href} for i in event.images]


def _touch_incident(incident: Incident, severity: str, at: datetime, *, new_alert: bool) -> None:
    """Note the alert's event on its incident, which is as urgent as its most urgent alert."""
    incident.severity = Severity.most_urgent(incident.severity, severity)
    changes: dict[str, Any] = {"severity": incident.severity, "last_alert_at": at}
    if new_alert:
        changes["alert_count"] = F("alert_count") + 1
    Incident.objects.filter(pk=incident.pk).update(**changes)


def group_key(channel: Channel, source: AlertSource, event: AlertEvent) -> str:
    """Alerts with equal keys share one open incident of the channel."""
    if not channel.group_by_labels:
        return "alert:" + stable_key(source.pk, event.alert_key)
    values = [event.labels.get(name, "") for name in channel.group_by_labels]
    return "labels:" + stable_key(channel.group_by_labels, values)


def next_incident_number() -> int:
    """Console-wide incident numbers. PostgreSQL: a sequence, so concurrent batches never wait
    on each other (a rolled-back batch leaves a gap). Elsewhere a counter row, which SQLite's
    single writer serialises anyway."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT nextval('oncall_incident_number_seq')")
            return cursor.fetchone()[0]
    counter, _ = Counter.objects.get_or_create(name="incident")
    Counter.objects.filter(pk=counter.pk).update(value=F("value") + 1)
    counter.refresh_from_db()
    return counter.value


__all__ = ["PayloadError", "accept", "group_key", "process"]
