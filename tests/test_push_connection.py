"""The push URL's database connection: no health check per request, and a connection that died
since the last request, or while the push was being stored, is replaced without the sender
seeing an error and without the push being stored twice (``oncall.reconnect``)."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

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


def _on_first_insert_of_a_push(act: Callable) -> Callable:
    """An execute wrapper that calls ``act(execute, sql, params, many, context)`` instead of
    running the first insert of a stored push (the ones after it run as they are)."""
    done: list[bool] = []

    def wrapper(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "oncall_inboundevent"') and not done:
            done.append(True)
            return act(execute, sql, params, many, context)
        return execute(sql, params, many, context)

    return wrapper


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


def test_a_push_whose_connection_dies_before_its_insert_is_stored_once(client):
    source = AlertSourceFactory()
    assert _push(client, source, "Warm").status_code == 200

    def die_first(execute, sql, params, many, context):
        _terminate(context["connection"].connection.info.backend_pid)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(_on_first_insert_of_a_push(die_first)):
        response = _push(client, source, "Stored")

    assert response.status_code == 200, response.content
    stored = InboundEvent.objects.filter(source=source, request_id=response.json()["request_id"])
    assert stored.count() == 1
    assert InboundEvent.objects.filter(source=source).count() == 2


def test_a_push_whose_insert_was_stored_but_not_answered_is_stored_once(client):
    """The insert reached the database and committed; the connection died before its answer
    came back. The second attempt finds the push by its request id rather than storing it
    again."""
    source = AlertSourceFactory()
    assert _push(client, source, "Warm").status_code == 200

    def answer_lost(execute, sql, params, many, context):
        execute(sql, params, many, context)
        _terminate(context["connection"].connection.info.backend_pid)
        return execute("SELECT 1", None, many, context)  # raises: the connection is gone

    with connection.execute_wrapper(_on_first_insert_of_a_push(answer_lost)):
        response = _push(client, source, "Stored")

    assert response.status_code == 200, response.content
    assert InboundEvent.objects.filter(source=source).count() == 2
    stored = InboundEvent.objects.get(request_id=response.json()["request_id"])
    assert stored.status == InboundEvent.Status.PROCESSED  # its task was sent, once stored


def test_an_error_on_a_live_connection_is_not_tried_again(client):
    """A statement that fails on a connection that still answers (here a statement timeout)
    is the statement's failure: raised, not repeated."""
    source = AlertSourceFactory()
    assert _push(client, source, "Warm").status_code == 200
    inserts: list[str] = []

    def times_out(execute, sql, params, many, context):
        execute("SET statement_timeout = 10", None, many, context)
        return execute("SELECT pg_sleep(1)", None, many, context)

    def count(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "oncall_inboundevent"'):
            inserts.append(sql)
        return execute(sql, params, many, context)

    with (
        connection.execute_wrapper(count),  # the outer one: it sees every attempt
        connection.execute_wrapper(_on_first_insert_of_a_push(times_out)),
        pytest.raises(OperationalError, match="statement timeout"),
    ):
        _push(client, source, "Timed out")

    with connection.cursor() as cursor:
        cursor.execute("RESET statement_timeout")
    assert len(inserts) == 1
    assert InboundEvent.objects.filter(source=source).count() == 1
