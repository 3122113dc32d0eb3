"""A real Celery worker process on Redis turns a pushed alert into an incident."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from oncall.celery import app as celery_app
from oncall.models import Incident
from tests import payloads
from tests.factories import AlertSourceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

WAIT_SECONDS = 60


@pytest.fixture
def worker_queue(monkeypatch) -> Iterator[str]:
    """Start ``celery worker`` on a queue of its own, against the test database and Redis."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "run with Redis as the broker"
    queue = f"test-{uuid.uuid4().hex[:8]}"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": queue,
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "oncall",
            "worker",
            "--pool",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        env=env,
        cwd=settings.BASE_DIR,
    )
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "task_default_queue", queue)
    try:
        yield queue
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    pytest.fail(f"gave up after {WAIT_SECONDS}s waiting for {what}")


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
