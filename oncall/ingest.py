"""Alert ingestion: accept a push (parse, route, store durably), then process it into incidents.

``accept`` runs in the push request and does the least that lets the sender get a truthful
answer: parse (so bad payloads get a 400 with the reason), route (so "no route" is said in the
response), store one ``InboundEvent`` row, and enqueue its processing after commit.

``process`` runs in a worker. It locks the inbound row (a second delivery of the same task finds
it processed, or locked by the worker merging it, and returns) and hands the events to
``oncall.merge`` in chunks of at most ``INGEST_CHUNK_ALERTS``, one transaction and one task
each. A chunk is merged entirely or not at all, and it moves the row's ``merged`` count on in
the same transaction, so a chunk whose worker died is redone from the row, never twice. The
next chunk's task is queued after the commit, behind the tasks queued meanwhile: other pushes
do not wait for the whole of a big one, and a big push holds a worker for one chunk at a time.
A push whose task was lost stays ``pending`` and the sweep hands it out again.

Chunking changes nothing in what is stored: the chunks merge the push's events in order, under
its one arrival time, and an incident opened by one chunk is escalated once the last chunk that
could change it is merged (``oncall.merge``), so the alerts, incidents and rules are those of a
one-shot merge. Only the moment of the commits differs (another push may be merged between two
chunks, as between two pushes).

The cap. A push of more than ``PUSH_MAX_ALERTS`` alerts is refused whole (``TooManyAlerts``, a
413 naming the cap and the count), rather than accepted in part, Alertmanager's grouped
notifications included: a sender told "too many" still has every alert and shows the refusal
where its operators look (Alertmanager logs the failed notification and counts it in its
``alertmanager_notifications_failed_total``), whereas a console that silently kept the first N
would choose on its own which alerts nobody sees, and answer 2xx for them. Chunks already bound
what a big push costs a worker, so the cap bounds what is left: the request's own work (parse,
route and store run in the web request) and the size of the row a push is stored in; the body
limit (``PUSH_MAX_BODY_BYTES``) refuses a big batch the same way. The choice of what to leave
out belongs to the sender, which can make it: set Alertmanager's webhook ``max_alerts`` to the
cap or below, and it sends the first alerts of a larger group and says how many it left out
(``truncatedAlerts``), which the push's answer and notes report.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from oncall import early_resolves, metrics
from oncall.compiled_lookup import CompiledInsert
from oncall.events import AcceptResult, AlertEvent, PayloadError
from oncall.merge import Merger, plan_left_waiting, touched_names
from oncall.models import AlertSource, Channel, InboundEvent
from oncall.noise.pipelines import run_pipeline
from oncall.reconnect import once_more_if_connection_lost
from oncall.routing import RoutingTable
from oncall.sources import PushRequest, SourceKind, source_kind

logger = logging.getLogger(__name__)

MAX_PROCESS_ATTEMPTS = 5


class TooManyAlerts(PayloadError):
    """A push of more alerts than ``PUSH_MAX_ALERTS``: refused whole (see the module's
    docstring), answered 413 by the push view."""

    def __init__(self, count: int, limit: int) -> None:
        super().__init__(
            f"The push holds {count} alerts; at most {limit} are accepted in one push "
            f"(PUSH_MAX_ALERTS). Send them in smaller batches (Alertmanager: set the "
            f"webhook's max_alerts to {limit}).",
            field="alerts",
        )
        self.count, self.limit = count, limit


# --- accept (web request) ----------------------------------------------------------------------


def accept(
    source: AlertSource,
    payload: Any,
    *,
    body_bytes: int,
    edge_notes: Sequence[str] = (),
    push: PushRequest | None = None,
) -> AcceptResult:
    """Parse, route and store a push. Raises ``PayloadError`` (``TooManyAlerts`` past the cap)
    or ``SourceRefused`` (a wrong signature); stores nothing in that case.

    ``edge_notes`` say what reading the body changed (``oncall.jsonbody``); they are stored and
    answered with the push's own notes. ``push`` is the request as the source may read it (none
    for events that did not come over HTTP: the source's options and secret only)."""
    kind = source_kind(source.kind)
    if push is None:
        push = PushRequest.of_source(source)
    parsed = kind.parse_push(payload, push)
    if len(parsed) > settings.PUSH_MAX_ALERTS:
        raise TooManyAlerts(len(parsed), settings.PUSH_MAX_ALERTS)
    sent = [_with_overrides(source, event) for event in parsed]
    events = run_pipeline(source, sent)  # noise reduction: the source's pipeline, before routing
    notes = [*edge_notes, *_sender_notes(kind, payload), *_pipeline_notes(events)]
    table = RoutingTable.load(source)
    routed, unrouted = [], []
    for original, event in zip(sent, events, strict=True):
        channel_ids = table.channels_for(event)
        if channel_ids:
            routed.append(_routed(original, event, channel_ids))
        else:
            unrouted.append(event.alert_key)
    if unrouted:
        notes.append(
            f"{len(unrouted)} event(s) matched no route and the source has no default "
            f"route: {', '.join(unrouted[:10])}"
        )
    if not events:
        notes.append("The payload holds no alert to act on.")
    inbound = InboundEvent(
        source=source,
        received_at=timezone.now(),
        status=_initial_status(routed, unrouted),
        events=routed,
        notes=notes,
        body_bytes=body_bytes,
        processed_at=None if routed else timezone.now(),
        pipeline_dropped=sum(event.dropped for event in events),
    )
    _store(inbound)
    if routed:
        _enqueue(inbound.pk)
    return AcceptResult(
        request_id=str(inbound.request_id), events=events, unrouted=unrouted, notes=notes
    )


def preview(
    source: AlertSource, payload: Any, options: Mapping[str, Any] | None = None
) -> list[AlertEvent]:
    """The events a push of ``payload`` would bring, read with ``options`` (checked by the
    kind) instead of the saved ones when given: for trying a mapping on a sample before saving
    it. Nothing is routed or stored. Raises ``PayloadError`` or ``SourceRefused`` as a push
    would (a kind that checks a signature refuses a sample, which has none)."""
    kind = source_kind(source.kind)
    chosen = source.options if options is None else options
    push = PushRequest.bare(chosen, source.signing_secret)
    return [_with_overrides(source, event) for event in kind.parse_push(payload, push)]


def _with_overrides(source: AlertSource, event: AlertEvent) -> AlertEvent:
    severity = source.map_severity(event.raw_severity, event.severity)
    return event if severity == event.severity else replace(event, severity=severity)


def _routed(original: AlertEvent, event: AlertEvent, channel_ids: list[int]) -> dict[str, Any]:
    """A routed entry of the stored push; the event as sent too when the pipeline changed it
    (what "try it on a recent event" starts from)."""
    item: dict[str, Any] = {"event": event.to_json(), "channels": channel_ids}
    if event is not original:
        item["original"] = original.to_json()
    return item


def _pipeline_notes(events: list[AlertEvent]) -> list[str]:
    dropped = sum(event.dropped for event in events)
    return [f"{dropped} event(s) dropped by the source's pipeline."] if dropped else []


def _sender_notes(kind: SourceKind, payload: Any) -> list[str]:
    truncated = kind.truncated_count(payload)
    if truncated:
        return [
            f"The sender left out {truncated} alert(s) of this group (truncatedAlerts); "
            "raise its max_alerts to receive them."
        ]
    return []


def _store(inbound: InboundEvent) -> None:
    """Insert the push: one statement, no transaction around it (it commits by itself, and its
    task is sent after it; inside a caller's transaction, at commit).

    If the connection turns out to be lost, the insert is made again on a fresh one
    (``oncall.reconnect``), and stores the push once even if the first insert reached the
    database and only its answer was lost: the row carries the request id it was made with."""
    once_more_if_connection_lost(
        lambda: _INSERT.insert(inbound), lambda: _store_unless_stored(inbound)
    )


# ``save(force_insert=True)`` with its INSERT written once (``oncall.compiled_lookup``): building
# it was a third of the insert's CPU.
_INSERT = CompiledInsert(InboundEvent)


def _store_unless_stored(inbound: InboundEvent) -> None:
    stored = InboundEvent.objects.filter(request_id=inbound.request_id)
    inbound.pk = stored.values_list("pk", flat=True).first()
    if inbound.pk is None:
        inbound.save(force_insert=True)


def _initial_status(routed: list, unrouted: list) -> InboundEvent.Status:
    if routed:
        return InboundEvent.Status.PENDING
    return InboundEvent.Status.UNROUTED if unrouted else InboundEvent.Status.PROCESSED


def _enqueue(inbound_id: int) -> None:
    # robust: with the broker down the push is still stored and answered 2xx (the sender must
    # not send it again); the sweep hands it to a worker once the broker is back.
    transaction.on_commit(lambda: _send(inbound_id), robust=True)


_sending = threading.local()


def _send(inbound_id: int) -> None:
    """Send the push's task. With eager tasks (``CELERY_TASK_ALWAYS_EAGER``) sending runs the
    task, whose commit sends the next chunk's, and so on: a push of hundreds of chunks would
    nest that deep. So a task sent while another is being sent in this thread waits in a list
    that the outer send works through, one after the other."""
    from oncall.tasks import process_inbound_event  # tasks import this module

    waiting: list[int] | None = getattr(_sending, "waiting", None)
    if waiting is not None:
        waiting.append(inbound_id)
        return
    _sending.waiting = waiting = [inbound_id]
    try:
        while waiting:
            pending_id = waiting.pop(0)
            try:
                process_inbound_event.delay(pending_id)
            except OperationalError as error:
                # The broker is down: the push is stored and stays pending, and the sweep hands
                # it to a worker once the broker is back. One line per push, not a traceback
                # each (as ``on_commit(robust=True)`` would log it), during an outage.
                logger.warning(
                    "Push %s is stored; the broker did not take its task (%s): the sweep "
                    "will hand it to a worker.",
                    pending_id,
                    error,
                )
    finally:
        _sending.waiting = None


# --- process (worker) --------------------------------------------------------------------------


def process(inbound_id: int) -> bool:
    """Merge the next chunk of a stored push into alerts and incidents, exactly once, and queue
    the chunk after it. True if it merged a chunk."""
    try:
        with transaction.atomic():
            _relax_commit_durability()
            inbound = _lock_pending(inbound_id)
            if inbound is None:
                return False
            _merge_next_chunk(inbound)
            _record_progress(inbound)
    except Exception as exc:
        _record_failure(inbound_id, exc)
        raise
    if inbound.status == InboundEvent.Status.PROCESSED:
        # Counted once committed, and once per push (its last chunk): a rolled-back merge is
        # not "processed".
        waited = (inbound.processed_at - inbound.received_at).total_seconds()
        metrics.push_processed(inbound.source.kind, waited)
    return True


def _merge_next_chunk(inbound: InboundEvent) -> None:
    """Merge the push's next ``INGEST_CHUNK_ALERTS`` entries; move ``merged`` past them."""
    start = inbound.merged
    end = start + settings.INGEST_CHUNK_ALERTS
    if end < len(inbound.events):
        # Queued at commit before this chunk's escalation steps run in this worker (they
        # are on_commit callbacks too), so that another worker may take it meanwhile.
        _enqueue(inbound.pk)
    channels = _channels(inbound.events)
    merger = Merger(
        inbound.source,
        inbound.received_at,
        _pairs(inbound.events[start:end], channels),
        later=touched_names(inbound.source, _pairs(inbound.events[end:], channels)),
        waiting=inbound.waiting_incidents,
    )
    merger.run()
    if merger.outdated:  # merged after a later push of their alerts: said where admins look
        inbound.notes = [*inbound.notes, early_resolves.late_note(merger.outdated)]
    inbound.merged = min(end, len(inbound.events))
    inbound.waiting_incidents = merger.waiting


def _record_progress(inbound: InboundEvent) -> None:
    """Save the chunk's progress in its transaction; queue the next chunk, or mark the push
    processed. ``attempts`` counts the tries of the chunk in hand (of the last, once done)."""
    now = timezone.now()
    inbound.progressed_at = now
    inbound.error = ""
    if inbound.merged < len(inbound.events):
        inbound.attempts = 0  # the next chunk's tries start afresh
    else:
        inbound.status = InboundEvent.Status.PROCESSED
        inbound.processed_at = now
        inbound.attempts = F("attempts") + 1
    inbound.save(
        update_fields=[
            "status",
            "processed_at",
            "progressed_at",
            "attempts",
            "error",
            "merged",
            "waiting_incidents",
            "notes",
        ]
    )


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
    with transaction.atomic():
        failed = (
            InboundEvent.objects.select_for_update()
            .filter(
                pk=inbound_id,
                status=InboundEvent.Status.PENDING,
                attempts__gte=MAX_PROCESS_ATTEMPTS,
            )
            .first()
        )
        if failed is not None:
            # Its later chunks will not run: what its earlier ones opened is escalated now.
            plan_left_waiting(failed.waiting_incidents)
            failed.status, failed.waiting_incidents = InboundEvent.Status.FAILED, []
            failed.save(update_fields=["status", "waiting_incidents"])


def _channels(events: list[dict]) -> dict[int, Channel]:
    return Channel.objects.in_bulk({cid for item in events for cid in item["channels"]})


def _pairs(events: list[dict], channels: dict[int, Channel]) -> list[tuple[Channel, AlertEvent]]:
    return [
        (channels[channel_id], AlertEvent.from_json(item["event"]))
        for item in events
        for channel_id in item["channels"]
        if channel_id in channels  # a channel deleted since the push was accepted is skipped
    ]


__all__ = ["PayloadError", "TooManyAlerts", "accept", "process"]
