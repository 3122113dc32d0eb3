from __future__ import annotations

import pytest
from celery import Celery

from oncall.views import health

pytestmark = pytest.mark.django_db


def test_it_reports_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["database"], body["broker"]) == ("ok", "ok", "ok")
    assert body["pending_events"] == 0


def test_it_answers_503_naming_the_broker_when_it_is_down(client, monkeypatch):
    def broker_down() -> str:
        raise ConnectionRefusedError("connection refused")

    monkeypatch.setitem(health.CHECKS, "broker", broker_down)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["broker"] == "down: ConnectionRefusedError"
    assert body["database"] == "ok"


def test_it_answers_503_when_the_database_is_down(client, monkeypatch):
    def database_down() -> str:
        raise OSError("could not connect")

    monkeypatch.setitem(health.CHECKS, "database", database_down)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "down: OSError"
    assert "pending_events" not in response.json()


def test_a_broker_that_really_refuses_connections_is_reported(client, monkeypatch):
    # A loopback port nobody listens on: a real refused connection, not a mock. (Celery lets
    # CELERY_BROKER_URL override the URL given to the app, so it goes for this test.)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setattr(
        health, "celery_app", Celery(broker="redis://127.0.0.1:1/0", set_as_current=False)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"].startswith("down: ")
