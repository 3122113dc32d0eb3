"""Celery tasks of outbound webhooks, all on the webhooks queue (``CELERY_WEBHOOKS_QUEUE``, see
``oncall.celery.route_task``): thin wrappers around ``oncall.webhooks.delivery``."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from oncall.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from oncall.webhooks import delivery

SWEEP_BATCH = 500


@shared_task(ignore_result=True)
def hand_out(delivery_ids: list[int]) -> None:
    """After the commit that wrote them: a task per delivery that may go out now (the others
    follow their chain's earlier deliveries)."""
    for delivery_id in delivery.chain_heads(delivery_ids):
        send_delivery.delay(delivery_id)


@shared_task(ignore_result=True)
def send_delivery(delivery_id: int) -> None:
    """One attempt; then the next delivery of the chain, or this one again when it is due."""
    result = delivery.send(delivery_id)
    if result is None:
        return
    if result.retry_at is not None:
        send_delivery.apply_async((delivery_id,), eta=result.retry_at)
    if result.next_id is not None:
        send_delivery.delay(result.next_id)


@shared_task(ignore_result=True)
def sweep_deliveries() -> int:
    """Hand out every delivery overdue by ``WEBHOOK_REQUEUE_SECONDS``: its task was lost."""
    due = delivery.due_for_sweep(timezone.now(), SWEEP_BATCH)
    for delivery_id in due:
        send_delivery.delay(delivery_id)
    return len(due)


@shared_task(ignore_result=True)
def purge_deliveries() -> int:
    """Drop finished deliveries, their attempts and events past ``WEBHOOK_RETENTION_DAYS``."""
    cutoff = timezone.now() - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    old = WebhookDelivery.objects.filter(finished_at__lt=cutoff)
    WebhookAttempt.objects.filter(delivery__in=old).delete()
    deleted, _ = old.delete()
    WebhookEvent.objects.filter(occurred_at__lt=cutoff, deliveries__isnull=True).delete()
    return deleted
