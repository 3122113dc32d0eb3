"""What the console tells Prometheus, served at ``GET /metrics`` (``oncall.views.metrics``).

Two kinds of numbers, kept apart on purpose:

* **Events** (pushes answered, pushes processed, notifications sent or failed, card callbacks)
  are counted where they happen, by whichever process sees them: a gunicorn worker, a Celery
  worker, a prefork child. ``instruments`` holds them; with ``PROMETHEUS_MULTIPROC_DIR`` set
  (``dev.py up`` sets it; production must, see README "Metrics") every process writes its
  counts to files there and the scrape sums them (prometheus_client's multiprocess mode).
* **States** (the pending backlog, incidents by status, task queue depths) are read at scrape
  time from where the truth is, the database and the broker (``collectors``): no process
  keeps a copy that could drift.

The recording functions below are all the rest of the console calls; they take only strings and
numbers, and label values come from short fixed vocabularies (a source kind, a reason code, a
platform name), never from what a sender wrote.
"""

from oncall.metrics.instruments import (
    UNKNOWN,
    card_callback_answered,
    notification_failed,
    notification_retried,
    notification_sent,
    push_answered,
    push_processed,
    template_failed,
)

__all__ = [
    "UNKNOWN",
    "card_callback_answered",
    "notification_failed",
    "notification_retried",
    "notification_sent",
    "push_answered",
    "push_processed",
    "template_failed",
]
