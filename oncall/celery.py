"""The Celery application: ``celery -A oncall worker`` / ``celery -A oncall beat``."""

import os
from typing import Any

from celery import Celery, Task, signals
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")


WEBHOOK_TASKS = "oncall.webhooks.tasks."


def route_task(
    name: str, args: object, kwargs: object, options: object, **_: object
) -> dict | None:
    """``task_routes``: the core's and the chat platforms' card tasks (a new incident's first
    escalation step among them) to the cards queue, outbound webhook
    tasks to the webhooks queue (read when a task is sent: a test worker moves them),
    everything else to the default one."""
    from django.conf import settings

    from oncall.platforms import platforms
    from oncall.tasks import CARD_TASKS

    if name.startswith(WEBHOOK_TASKS):
        return {"queue": settings.CELERY_WEBHOOKS_QUEUE}
    if name in CARD_TASKS or any(name in p.card_task_names() for p in platforms()):
        return {"queue": settings.CELERY_CARDS_QUEUE}
    return None


app = Celery("oncall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic sweeps: each one repairs what a lost task or a stopped worker left undone.
CORE_SCHEDULE = {
    "requeue-stale-inbound-events": {
        "task": "oncall.tasks.sweep_inbound_events",
        "schedule": 30.0,
    },
    "replan-lost-escalation-steps": {
        "task": "oncall.tasks.sweep_escalations",
        "schedule": 15.0,
    },
    "wake-snoozed-incidents": {
        "task": "oncall.tasks.sweep_snoozed_incidents",
        "schedule": 30.0,
    },
    "retire-stale-custom-action-runs": {
        "task": "oncall.custom_actions.tasks.sweep_action_runs",
        "schedule": 30.0,
    },
    "settle-flapping-incidents": {
        "task": "oncall.tasks.settle_flapping",
        "schedule": 60.0,
    },
    "release-silenced-alerts": {
        "task": "oncall.tasks.release_silenced_alerts",
        "schedule": 30.0,
    },
    "send-shift-notices": {
        "task": "oncall.tasks.send_shift_notices",
        "schedule": 60.0,
    },
    "purge-old-inbound-events": {
        "task": "oncall.tasks.purge_inbound_events",
        "schedule": crontab(minute=17, hour=3),
    },
    "resend-lost-webhook-deliveries": {
        "task": "oncall.webhooks.tasks.sweep_deliveries",
        "schedule": 30.0,
    },
    "purge-old-webhook-deliveries": {
        "task": "oncall.webhooks.tasks.purge_deliveries",
        "schedule": crontab(minute=37, hour=3),
    },
    "purge-old-change-events": {
        "task": "oncall.tasks.purge_change_events",
        "schedule": crontab(minute=27, hour=3),
    },
    "purge-old-flap-states": {
        "task": "oncall.tasks.purge_flap_states",
        "schedule": crontab(minute=37, hour=3),
    },
}


@app.on_after_configure.connect
def set_beat_schedule(sender: Celery, **_: object) -> None:
    """The core's sweeps and the chat platforms' and alert sources' periodic tasks, set once
    the settings are read (the platforms and sources are listed there). Nothing above touches
    ``app.conf``, which would read the settings before this receiver is connected.

    ``celery -A oncall beat`` (and ``worker``) read the configuration before Celery's Django
    fix-up sets Django up, and building the platforms needs the app registry (their models):
    there, the receiver used to fail and beat ran with no sweep at all. So Django is set up
    here first when it is not yet (``django.setup`` does nothing the second time)."""
    import django
    from django.apps import apps

    if not apps.ready:
        django.setup()
    from oncall.platforms import platforms
    from oncall.sources import source_kinds

    schedule = dict(CORE_SCHEDULE)
    for platform in platforms():
        schedule.update(platform.periodic_tasks())
    for source in source_kinds():
        schedule.update(source.periodic_tasks())
    sender.conf.beat_schedule = schedule


@signals.task_prerun.connect(dispatch_uid="oncall.check_database_connections")
def check_database_connections(sender: Task | None = None, **_: Any) -> None:
    """Before each task, what Django does before each request: drop a connection that failed
    (PostgreSQL restarted, a failover, ``pg_terminate_backend``) or outlived ``CONN_MAX_AGE``,
    and check the kept one before its first query (``CONN_HEALTH_CHECKS``). Celery's own
    fix-up does this only every ``CELERY_DB_REUSE_MAX`` x 2 tasks, so a worker process whose
    connection was cut failed every task (its sweeps too) until then. Eager tasks run inside
    their caller's transaction: their connection is the caller's business."""
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    from django.db import close_old_connections

    close_old_connections()
