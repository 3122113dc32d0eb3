"""The console's counters and histograms, and the one function that records each.

Created once, at import, in prometheus_client's default registry. Whether they are
process-local or written to ``PROMETHEUS_MULTIPROC_DIR`` is decided by prometheus_client when
it is first imported (the variable must be in the environment before the process starts, which
``dev.py up`` and the README's production setup see to). Nothing here imports Django: a
recording call is a dictionary look-up and an addition (a few microseconds, see README).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from prometheus_client import Counter, Histogram

logger = logging.getLogger(__name__)

UNKNOWN = "unknown"
P = ParamSpec("P")


def _never_fails(record: Callable[P, None]) -> Callable[P, None]:
    """Counting must not fail what it counts (a push, a click): a metric that cannot be
    written (the multiprocess directory gone, a full disk) is logged and skipped."""

    @wraps(record)
    def safely(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            record(*args, **kwargs)
        except Exception:
            logger.exception("metrics: could not record %s", record.__name__)

    return safely


PUSHES_ACCEPTED = Counter(
    "oncall_pushes_accepted",
    "Pushes stored and answered 2xx, by source kind.",
    ["kind"],
)
PUSHES_REFUSED = Counter(
    "oncall_pushes_refused",
    "Pushes answered 4xx, by source kind (unknown when no source has the token) and the "
    "error code of the answer.",
    ["kind", "code"],
)
PUSH_PROCESSING_SECONDS = Histogram(
    "oncall_push_processing_seconds",
    "From a push being accepted to its alerts being merged into incidents, by source kind.",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
NOTIFICATIONS_SENT = Counter(
    "oncall_notifications_sent",
    "Notifications a chat platform delivered (one per message posted), by platform.",
    ["platform"],
)
NOTIFICATIONS_FAILED = Counter(
    "oncall_notifications_failed",
    "Notifications that will not arrive (given up on), by platform and reason.",
    ["platform", "reason"],
)
TEMPLATE_FAILURES = Counter(
    "oncall_template_failures",
    "Notifications rendered with the built-in template because the custom one failed, by medium.",
    ["medium"],
)
NOTIFICATION_RETRIES = Counter(
    "oncall_notification_retries",
    "Notification attempts that failed and will be tried again, by platform and reason.",
    ["platform", "reason"],
)
CARD_CALLBACKS = Counter(
    "oncall_card_callbacks",
    "Card button clicks answered, by platform, action and outcome.",
    ["platform", "action", "outcome"],
)
CARD_CALLBACK_SECONDS = Histogram(
    "oncall_card_callback_seconds",
    "Time to answer a card button click (Feishu gives up after 3 s), by platform and action.",
    ["platform", "action"],
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10),
)


@_never_fails
def push_answered(kind: str, status: int, code: str) -> None:
    """A push was answered: ``kind`` is the source's (``UNKNOWN`` before one is known),
    ``code`` the answer's reason (``invalid_json``, ...) when it was refused."""
    if 200 <= status < 300:
        PUSHES_ACCEPTED.labels(kind).inc()
    else:
        PUSHES_REFUSED.labels(kind, code).inc()


@_never_fails
def push_processed(kind: str, seconds: float) -> None:
    """A stored push was merged into incidents ``seconds`` after it was accepted."""
    PUSH_PROCESSING_SECONDS.labels(kind).observe(max(seconds, 0.0))


@_never_fails
def notification_sent(platform: str, count: int = 1) -> None:
    NOTIFICATIONS_SENT.labels(platform).inc(count)


@_never_fails
def notification_failed(platform: str, reason: str, count: int = 1) -> None:
    NOTIFICATIONS_FAILED.labels(platform, reason).inc(count)


@_never_fails
def template_failed(medium: str) -> None:
    TEMPLATE_FAILURES.labels(medium).inc()


@_never_fails
def notification_retried(platform: str, reason: str) -> None:
    NOTIFICATION_RETRIES.labels(platform, reason).inc()


@_never_fails
def card_callback_answered(platform: str, action: str, outcome: str, seconds: float) -> None:
    CARD_CALLBACKS.labels(platform, action, outcome).inc()
    CARD_CALLBACK_SECONDS.labels(platform, action).observe(seconds)
