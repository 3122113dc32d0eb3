"""The push URL's database connection: no health check per request, and a connection that died
since the last request is replaced without the sender seeing an error."""

from __future__ import annotations

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from oncall.models import InboundEvent
from tests import payloads
from tests.factories import AlertSourceFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

connection = connections[DEFAULT_DB_ALIAS]


def _push(client, source, name: str):
    body = payloads.alertmanager(payloads.am_alert(name))
    return client.post(f"/push/{source.token}", data=body, content_type="application/json")


def _terminate(backend_pid: int) -> None:
    """End one backend from another connection, as a PostgreSQL restart or failover does."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [backend_pid])


def test_a_push_after_its_connection_died_is_stored_on_a_new_one(client):
    source = AlertSourceFactory()
    assert _push(client, source, "Before").status_code == 200
    _terminate(connection.connection.info.backend_pid)

    response = _push(client, source, "After")

    assert response.status_code == 200, response.content
    assert InboundEvent.objects.filter(source=source).count() == 2


def test_a_push_spends_no_round_trip_on_a_health_check(client, monkeypatch):
    source = AlertSourceFactory()
    assert _push(client, source, "Warm").status_code == 200
    checks: list[bool] = []
    real = type(connection).is_usable
    monkeypatch.setattr(
        type(connection), "is_usable", lambda self: checks.append(True) or real(self)
    )
    connection.close_if_unusable_or_obsolete()  # what Django does as every request starts

    assert _push(client, source, "Measured").status_code == 200
    assert checks == []
