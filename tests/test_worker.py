"""A real Celery worker process on Redis turns a pushed alert into an incident."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection

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


def terminate_other_connections() -> int:
    """End every other connection to the test database, as a PostgreSQL restart or failover
    (or an administrator's ``pg_terminate_backend``) does: the worker's included."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_it_keeps_working_after_its_database_connection_was_terminated(worker_queue, client):
    # The fault drill found workers failing every task for hundreds of tasks after this, their
    # sweeps included, so that nothing was merged until they were restarted.
    source = AlertSourceFactory()
    first, second = payloads.am_alert("BeforeTheCut"), payloads.am_alert("AfterTheCut")
    push = f"/push/{source.token}"
    client.post(push, data=payloads.alertmanager(first), content_type="application/json")
    wait_for(
        lambda: Incident.objects.filter(title__startswith="BeforeTheCut").exists(),
        "the worker to open the first incident (it holds a connection now)",
    )

    assert terminate_other_connections() >= 1
    response = client.post(
        push, data=payloads.alertmanager(second), content_type="application/json"
    )

    assert response.status_code == 200
    wait_for(
        lambda: Incident.objects.filter(title__startswith="AfterTheCut").exists(),
        "the worker to open the second incident on a new connection",
        seconds=20,
    )
