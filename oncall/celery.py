"""The Celery application: ``celery -A oncall worker`` / ``celery -A oncall beat``."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")

# Tasks that send or update Feishu cards, by name (the core never imports a platform): they go
# to settings.CELERY_CARDS_QUEUE, read when a task is sent (a test worker moves it).
CARD_TASKS = frozenset(
    {
        "integrations.feishu.tasks.send_cards",
        "integrations.feishu.tasks.send_card",
        "integrations.feishu.tasks.sync_cards",
    }
)


def route_task(
    name: str, args: object, kwargs: object, options: object, **_: object
) -> dict | None:
    """``task_routes``: card tasks to the cards queue, everything else to the default one."""
    if name in CARD_TASKS:
        from django.conf import settings

        return {"queue": settings.CELERY_CARDS_QUEUE}
    return None


app = Celery("oncall")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic sweeps: each one repairs what a lost task or a stopped worker left undone.
app.conf.beat_schedule = {
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
    # Integrations are named by task name only: the core never imports a platform.
    "sync-feishu-chats": {
        "task": "integrations.feishu.tasks.sync_all_chats",
        "schedule": 60.0,  # each app is synced when FEISHU_CHAT_SYNC_MINUTES have passed
    },
    "resend-lost-feishu-cards": {
        "task": "integrations.feishu.tasks.resend_stalled_cards",
        "schedule": 30.0,
    },
    "purge-feishu-callback-receipts": {
        "task": "integrations.feishu.tasks.purge_callback_receipts",
        "schedule": crontab(minute=27, hour=3),
    },
    "purge-rate-limit-windows": {
        "task": "integrations.feishu.tasks.purge_rate_windows",
        "schedule": crontab(minute=7),
    },
}
