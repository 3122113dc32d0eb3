"""Gauges read at scrape time from where the truth is: the database and the broker.

Nothing is cached between scrapes. Every query here is answered from an index (the inbound
events' ``(status, received_at)``, the incidents' ``(status, created_at)``, ``snoozed_until``
and ``next_escalation_at``) and reads only rows still in play (pending or failed pushes, open
incidents), so a scrape costs about the same with a million closed incidents as with none.

A part that cannot be read (database or broker down) is left out of the answer and says so in
``oncall_metrics_source_up``, rather than failing the whole scrape: the other numbers are
still true, and "the broker is down" is itself worth an alert.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from oncall.escalation import SWEEP_GRACE
from oncall.models import InboundEvent, Incident

logger = logging.getLogger(__name__)

BROKER_TIMEOUT_SECONDS = 2


class StateCollector:
    """The console's state gauges, read anew at every ``collect``."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "oncall_metrics_source_up",
            "1 when the scrape could read this source of gauges (database, broker), else 0.",
            labels=["source"],
        )
        for source, read in (("database", _database_gauges), ("broker", _queue_gauges)):
            try:
                gauges = list(read())
            except Exception as exc:  # a dependency down: say so, keep the rest of the scrape
                logger.warning("metrics: could not read the %s: %s", source, type(exc).__name__)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from gauges
        yield up


# --- The database ------------------------------------------------------------------------------


def _database_gauges() -> Iterator[Metric]:
    yield from _backlog_gauges()
    yield from _incident_gauges()


def _backlog_gauges() -> Iterator[Metric]:
    """Pushes accepted and not processed yet (``pending``), how long the oldest has waited, and
    pushes given up on after ``MAX_PROCESS_ATTEMPTS`` (``failed``, kept for the retention)."""
    Status = InboundEvent.Status
    rows = {
        row["status"]: row
        for row in InboundEvent.objects.filter(status__in=[Status.PENDING, Status.FAILED])
        .order_by()
        .values("status")
        .annotate(count=Count("id"), oldest=Min("received_at"))
    }
    events = GaugeMetricFamily(
        "oncall_inbound_events",
        "Stored pushes waiting to be processed (pending) or given up on (failed).",
        labels=["status"],
    )
    for status in (Status.PENDING, Status.FAILED):
        events.add_metric([status.value], rows.get(status, {}).get("count", 0))
    yield events
    oldest = rows.get(Status.PENDING, {}).get("oldest")
    age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
    yield GaugeMetricFamily(
        "oncall_inbound_oldest_pending_seconds",
        "How long the oldest pending push has waited to be processed (0 when none waits).",
        value=max(age, 0.0),
    )


# Closed incidents are not counted: their number only grows, and counting them is a scan of
# most of the table at every scrape (about half a second at a million incidents on
# PostgreSQL), where the open ones are found through the status index.
OPEN_STATUSES = [Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED]


def _incident_gauges() -> Iterator[Metric]:
    open_incidents = Incident.objects.filter(status__in=OPEN_STATUSES)
    counts = dict(open_incidents.order_by().values_list("status").annotate(count=Count("id")))
    incidents = GaugeMetricFamily(
        "oncall_incidents",
        "Open incidents by status (closed ones are not counted).",
        labels=["status"],
    )
    for status in OPEN_STATUSES:
        incidents.add_metric([status.value], counts.get(status.value, 0))
    yield incidents
    now = timezone.now()
    yield GaugeMetricFamily(
        "oncall_incidents_snoozed",
        "Open incidents snoozed right now (also counted in oncall_incidents by status).",
        value=open_incidents.filter(snoozed_until__gt=now).count(),
    )
    yield GaugeMetricFamily(
        "oncall_escalation_steps_overdue",
        "Open incidents whose next escalation step is overdue by more than the sweep's grace: "
        "their notifications are late.",
        value=open_incidents.filter(next_escalation_at__lt=now - SWEEP_GRACE).count(),
    )


# --- The broker --------------------------------------------------------------------------------


def _queue_gauges() -> Iterator[Metric]:
    """Messages waiting in each of the console's Celery queues, as the broker counts them.

    Asked through kombu's passive queue declaration, which every transport answers with its own
    count: the lengths of the queue's lists (one per priority) on Redis, the message files of
    the queue on the embedded filesystem broker, the queue's ready messages on RabbitMQ. Tasks
    a worker has taken (prefetched, or holding for their ETA) are not in the queue any more."""
    from oncall.celery import app  # imported when scraped: the Celery app reads the settings

    depth = GaugeMetricFamily(
        "oncall_task_queue_depth",
        "Tasks waiting in each Celery queue of the console (not yet taken by a worker).",
        labels=["queue"],
    )
    with app.connection_for_read() as connection:
        connection.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT_SECONDS)
        for queue in settings.CELERY_TASK_QUEUES:
            depth.add_metric([queue.name], _queue_length(connection, queue.name))
    yield depth


def _queue_length(connection: object, name: str) -> int:
    from amqp.exceptions import NotFound
    from kombu.exceptions import ChannelError

    # A channel per queue: a refused passive declaration closes its channel on RabbitMQ.
    with connection.channel() as channel:  # type: ignore[attr-defined]
        try:
            return channel.queue_declare(queue=name, passive=True).message_count
        except (ChannelError, NotFound):
            return 0  # no such queue yet (Redis drops a list when its last message is taken)
