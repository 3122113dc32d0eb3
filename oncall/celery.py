"""The Celery application: ``celery -A oncall worker`` / ``celery -A oncall beat``."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")


def route_task(
    name: str, args: object, kwargs: object, options: object, **_: object
) -> dict | None:
    """``task_routes``: the chat platforms' card tasks to the cards queue (read when a task is
    sent: a test worker moves it), everything else to the default one."""
    from django.conf import settings

    from oncall.platforms import platforms

    if any(name in platform.card_task_names() for platform in platforms()):
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
    "purge-old-inbound-events": {
        "task": "oncall.tasks.purge_inbound_events",
        "schedule": crontab(minute=17, hour=3),
    },
}


@app.on_after_configure.connect
def set_beat_schedule(sender: Celery, **_: object) -> None:
    """The core's sweeps and each chat platform's periodic tasks, set once the settings are
    read (the platforms are listed there). Nothing above touches ``app.conf``, which would
    read the settings before this receiver is connected."""
    from django.apps import apps

    if not apps.ready:
        # Celery reads its configuration (sending this signal) before its Django fix-up sets
        # Django up, and the platforms' classes import their models: without this, the worker
        # and beat processes found AppRegistryNotReady here (swallowed by the signal) and beat
        # ran with an empty schedule, no sweep at all.
        import django

        django.setup()
    from oncall.platforms import platforms

    schedule = dict(CORE_SCHEDULE)
    for platform in platforms():
        schedule.update(platform.periodic_tasks())
    sender.conf.beat_schedule = schedule
