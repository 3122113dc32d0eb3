"""Celery tasks: thin wrappers that load by primary key and call a service.

Every task is safe to run twice and safe to lose: the rows it works on say what is left to do,
and a periodic sweep hands out again whatever a lost task left undone.
"""

from __future__ import annotations

import logging
from contextlib import suppress
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone

from oncall import early_resolves, escalation, ingest, lifecycle
from oncall.models import ChangeEvent, InboundEvent, Incident
from oncall.schedules import notices
from oncall.timeline import Actor

logger = logging.getLogger(__name__)

SWEEP_BATCH = 500


@shared_task(ignore_result=True)
def process_inbound_event(inbound_id: int) -> None:
    ingest.process(inbound_id)


@shared_task(ignore_result=True)
def sweep_inbound_events() -> int:
    """Hand out again the pushes still pending a while after they arrived and after their last
    chunk was merged (a big push whose chunks keep coming is moving: it is left alone)."""
    cutoff = timezone.now() - timedelta(seconds=settings.INBOUND_EVENT_REQUEUE_SECONDS)
    stale = list(
        InboundEvent.objects.filter(status=InboundEvent.Status.PENDING, received_at__lt=cutoff)
        .filter(Q(progressed_at__isnull=True) | Q(progressed_at__lt=cutoff))
        .order_by("received_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for inbound_id in stale:
        process_inbound_event.delay(inbound_id)
    if stale:
        logger.warning("re-queued %d inbound event(s) whose processing was lost", len(stale))
    return len(stale)


def schedule_wake(incident_id: int, until: datetime) -> None:
    wake_incident.apply_async((incident_id, until.isoformat()), eta=until)


@shared_task(ignore_result=True)
def wake_incident(incident_id: int, until_iso: str) -> None:
    """Wake the incident if it is still snoozed until exactly ``until_iso``."""
    until = datetime.fromisoformat(until_iso)
    if until > timezone.now():
        return  # delivered early (a broker without eta support): the sweep wakes it on time
    with suppress(Incident.DoesNotExist, lifecycle.TransitionRefused):  # gone, or woken already
        lifecycle.wake(incident_id, Actor.system(), if_snoozed_until=until)


@shared_task(ignore_result=True)
def sweep_snoozed_incidents() -> int:
    """Wake every incident whose snooze is over: catches wake-ups a lost task missed."""
    due = list(
        Incident.objects.filter(snoozed_until__lte=timezone.now()).values_list(
            "pk", "snoozed_until"
        )[:SWEEP_BATCH]
    )
    for incident_id, until in due:
        with suppress(Incident.DoesNotExist, lifecycle.TransitionRefused):
            lifecycle.wake(incident_id, Actor.system(), if_snoozed_until=until)
    return len(due)


@shared_task(ignore_result=True)
def purge_inbound_events() -> int:
    """Drop handled push records past the retention period (alerts and incidents stay), and
    the resolves remembered from pushes for longer than ``oncall.early_resolves`` needs."""
    now = timezone.now()
    cutoff = now - timedelta(days=settings.INBOUND_EVENT_RETENTION_DAYS)
    deleted, _ = (
        InboundEvent.objects.filter(received_at__lt=cutoff)
        .exclude(status=InboundEvent.Status.PENDING)
        .delete()
    )
    return deleted + early_resolves.forget(now)


@shared_task(ignore_result=True)
def purge_change_events() -> int:
    """Drop change events last heard of before the retention period (``CHANGE_RETENTION_DAYS``)."""
    cutoff = timezone.now() - timedelta(days=settings.CHANGE_RETENTION_DAYS)
    deleted, _ = ChangeEvent.objects.filter(changed_at__lt=cutoff).delete()
    return deleted


@shared_task(ignore_result=True)
def purge_flap_states() -> int:
    """Drop flapping states nobody triggered for a day (``oncall.noise.flapping``)."""
    from oncall.noise import flapping

    return flapping.purge(timezone.now())


@shared_task(ignore_result=True)
def settle_flapping() -> int:
    """Periodic: clear the marks of the open incidents that stopped flapping and re-plan their
    escalation (``oncall.noise.flapping``)."""
    from oncall.noise import flapping

    return flapping.settle(timezone.now())


@shared_task(ignore_result=True)
def escalation_step(incident_id: int, due_iso: str) -> None:
    escalation.step(incident_id, due_iso)


@shared_task(
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=5,
)
def escalation_start(steps: list[tuple[int, str]] | None = None) -> None:
    """The runner of due steps (``escalation.ring``): new incidents' first steps, on the cards
    queue. A retry runs only the steps still due: a step done already is stale and does
    nothing. ``steps``: what a task queued by a console from before the runner names; the
    runner finds them due (or the sweep, once older than its window)."""
    escalation.run_due_steps()


# Core tasks that send cards: routed to the cards queue like the platforms' own.
CARD_TASKS = frozenset({escalation_start.name})


@shared_task(ignore_result=True)
def sweep_escalations() -> int:
    """Hand out every overdue escalation step: its task was lost (worker killed, broker
    restarted) or the process that committed it died before handing it out."""
    return escalation.sweep()


@shared_task(ignore_result=True)
def send_shift_notices() -> int:
    """Periodic: tell people their shift starts soon (``SCHEDULE_NOTICE_MINUTES``), once."""
    return notices.send_due()


@shared_task(ignore_result=True)
def release_silenced_alerts() -> int:
    """Open the incidents of alerts a silence kept that still fire now that it ended
    (``oncall.noise.silences``)."""
    from oncall.noise.silences import release_due

    return release_due(timezone.now())
