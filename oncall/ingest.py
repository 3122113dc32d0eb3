"""Alert ingestion: accept a push (parse, route, store durably), then process it into incidents.

``accept`` runs in the push request and does the least that lets the sender get a truthful
answer: parse (so bad payloads get a 400 with the reason), route (so "no route" is said in the
response), store one ``InboundEvent`` row, and enqueue its processing after commit.

``process`` runs in a worker. It locks the inbound row (a second delivery of the same task finds
it processed and returns) and hands the events to ``oncall.merge``, all in one transaction: a
batch is merged entirely or not at all. A batch whose task was lost stays ``pending`` and the
sweep hands it out again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from oncall.events import AcceptResult, AlertEvent, PayloadError
from oncall.merge import Merger
from oncall.models import AlertSource, Channel, InboundEvent
from oncall.routing import RoutingTable
from oncall.sources import SourceKind, source_kind

logger = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5


# --- accept (web request) ----------------------------------------------------------------------


def accept(
    source: AlertSource, payload: Any, *, body_bytes: int, edge_notes: Sequence[str] = ()
) -> AcceptResult:
    """Parse, route and store a push. Raises ``PayloadError``; stores nothing in that case.

    ``edge_notes`` say what reading the body changed (``oncall.jsonbody``); they are stored and
    answered with the push's own notes."""
    kind = source_kind(source.kind)
    events = [_with_overrides(source, event) for event in kind.parse(payload)]
    notes = [*edge_notes, *_sender_notes(kind, payload)]
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


def _sender_notes(kind: SourceKind, payload: Any) -> list[str]:
    truncated = kind.truncated_count(payload)
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

    # robust: with the broker down the push is still stored and answered 2xx (the sender must
    # not send it again); the sweep hands it to a worker once the broker is back.
    transaction.on_commit(lambda: process_inbound_event.delay(inbound_id), robust=True)


# --- process (worker) --------------------------------------------------------------------------


def process(inbound_id: int) -> bool:
    """Merge a stored push into alerts and incidents, exactly once. True if it did the work."""
    try:
        with transaction.atomic():
            _relax_commit_durability()
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


def _relax_commit_durability() -> None:
    """The push is already stored durably and stays ``pending`` until this transaction commits,
    so losing this commit in a crash only means the sweep merges the push again: PostgreSQL may
    acknowledge the commit before flushing it to disk, which saves a disk flush per batch."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


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
    channel_ids = {cid for item in inbound.events for cid in item["channels"]}
    channels = Channel.objects.in_bulk(channel_ids)
    pairs = [
        (channels[channel_id], AlertEvent.from_json(item["event"]))
        for item in inbound.events
        for channel_id in item["channels"]
        if channel_id in channels  # a channel deleted since the push was accepted is skipped
    ]
    Merger(inbound.source, inbound.received_at, pairs).run()


__all__ = ["PayloadError", "accept", "process"]
