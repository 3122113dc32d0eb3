"""A real worker killed (SIGKILL) in the middle of a big push: the chunks it did not finish are
merged by the next worker after the sweep, each alert once."""

from __future__ import annotations

import signal
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from oncall import tasks
from oncall.models import Alert, InboundEvent, Incident
from tests import payloads
from tests.factories import AlertSourceFactory
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ALERTS = 150
CHUNK = 2  # 75 chunks: the worker is killed long before the end


def test_a_worker_killed_mid_push_leaves_chunks_the_sweep_hands_to_the_next_one(
    monkeypatch, client
):
    source = AlertSourceFactory()
    alerts = [payloads.am_alert("Kill", instance=f"db-{i}:9100") for i in range(ALERTS)]
    queue = f"test-chunks-{uuid.uuid4().hex[:8]}"  # the next worker takes what is left in it

    with celery_worker(monkeypatch, queue=queue, INGEST_CHUNK_ALERTS=str(CHUNK)) as w:
        response = client.post(
            f"/push/{source.token}",
            data=payloads.alertmanager(*alerts),
            content_type="application/json",
        )
        assert response.status_code == 200
        wait_for(
            lambda: InboundEvent.objects.filter(merged__gte=2 * CHUNK).exists(),
            "the worker to merge a few chunks",
        )
        w.send_signal(signal.SIGKILL)
        w.wait(timeout=30)

    inbound = InboundEvent.objects.get()
    assert inbound.status == InboundEvent.Status.PENDING
    assert Alert.objects.count() == inbound.merged  # whole chunks only

    with celery_worker(monkeypatch, queue=queue, INGEST_CHUNK_ALERTS=str(CHUNK)):
        long_ago = timezone.now() - timedelta(minutes=5)
        InboundEvent.objects.update(received_at=long_ago, progressed_at=long_ago)
        tasks.sweep_inbound_events()
        wait_for(
            lambda: InboundEvent.objects.filter(status=InboundEvent.Status.PROCESSED).exists(),
            "the next worker to merge the rest",
            seconds=180,
        )

    keys = list(Alert.objects.values_list("alert_key", flat=True))
    assert len(keys) == len(set(keys)) == ALERTS
    assert set(Alert.objects.values_list("event_count", flat=True)) == {1}
    assert Incident.objects.count() == ALERTS
