"""Celery tasks of the DingTalk integration."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from integrations.dingtalk.models import EventReceipt


@shared_task(ignore_result=True)
def purge_event_receipts() -> int:
    """Forget pushes older than ``DINGTALK_EVENT_RECEIPT_RETENTION_DAYS``: by then a copy of
    them is refused for its timestamp (the retention outlives the window, a system check holds
    it), so their receipts protect nothing any more."""
    cutoff = timezone.now() - timedelta(days=settings.DINGTALK_EVENT_RECEIPT_RETENTION_DAYS)
    deleted, _ = EventReceipt.objects.filter(received_at__lt=cutoff).delete()
    return deleted
