"""The heartbeat sweep, run by Celery beat every minute (``HeartbeatSource.periodic_tasks``)."""

from __future__ import annotations

from celery import shared_task

from integrations.sources.heartbeat import monitor


@shared_task(ignore_result=True)
def sweep_heartbeats() -> int:
    """Open an incident for each heartbeat whose ping is overdue; how many it opened."""
    return monitor.sweep()
