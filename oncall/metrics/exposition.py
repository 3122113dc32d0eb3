"""The text ``GET /metrics`` answers: the counted events and the state read now.

With ``PROMETHEUS_MULTIPROC_DIR`` set, the events are the sum of what every process of the
console wrote there (gunicorn workers, Celery workers and their children), read through
prometheus_client's ``MultiProcessCollector``; without it, only this process's own counts
(enough for a single-process run, and what the tests check against).
"""

from __future__ import annotations

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from oncall.metrics.collectors import StateCollector

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def render() -> bytes:
    """Prometheus' text exposition format (version 0.0.4) of every metric of the console."""
    return generate_latest(_event_registry()) + generate_latest(_state_registry())


def _event_registry() -> CollectorRegistry:
    path = os.environ.get(MULTIPROC_DIR_VARIABLE)
    if not path:
        return REGISTRY
    # A registry per scrape, as prometheus_client documents for multiprocess mode: the
    # default one would show only this process's share.
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry


def _state_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(StateCollector())
    return registry
