"""A real Celery worker process on Redis turns a pushed alert into an incident."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oncall.models import Incident
from tests import payloads
from tests.factories import AlertSourceFactory
from tests.workers import celery_worker, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_queue(monkeypatch) -> Iterator[None]:
    with celery_worker(monkeypatch):
        yield


def test_a_real_worker_turns_an_alert_into_an_incident_and_closes_it(worker_queue, client):
    source = AlertSourceFactory()
    alert = payloads.am_alert("WorkerTest")

    response = client.post(
        f"/push/{source.token}", data=payloads.alertmanager(alert), content_type="application/json"
    )
    assert response.status_code == 200
    incident = wait_for(
        lambda: Incident.objects.filter(channel=source.channel).first(),
        "the worker to open the incident",
    )
    assert incident.title == "WorkerTest on db-1:9100"

    alert["status"] = "resolved"
    client.post(
        f"/push/{source.token}", data=payloads.alertmanager(alert), content_type="application/json"
    )
    wait_for(
        lambda: Incident.objects.filter(pk=incident.pk, status="closed").exists(),
        "the worker to close the incident",
    )
