"""Whether any endpoint listens is kept in the cache (``outbox.ANY_ENABLED``): a console
without webhooks asks the database nothing on a change, and one whose endpoints change sees it
at the next change."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext

from oncall.models import WebhookEndpoint, WebhookEvent
from oncall.webhooks.outbox import ANY_ENABLED
from tests import payloads
from tests.webhooks.conftest import make_endpoint
from tests.webhooks.test_delivery import dead_url, run_until_settled


def fire(push, source, name: str) -> None:
    response = push(source, payloads.alertmanager(payloads.am_alert(name)))
    assert response.status_code in (200, 202)


def endpoint_queries(push, source, name: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        fire(push, source, name)
    return sum('"oncall_webhookendpoint"' in query["sql"] for query in queries)


def test_without_endpoints_a_change_asks_the_database_nothing_about_them(push, source):
    ANY_ENABLED.forget()
    fire(push, source, "First")  # counted once

    assert endpoint_queries(push, source, "Second") == 0
    assert not WebhookEvent.objects.exists()


def test_an_endpoint_saved_is_heard_at_the_next_change(push, source, receiver):
    fire(push, source, "Before")
    assert ANY_ENABLED.get() is False

    make_endpoint(receiver.url)
    fire(push, source, "After")

    assert WebhookEvent.objects.filter(event_type="i_new").count() == 1


def test_a_disabled_endpoint_is_forgotten_too(push, source, receiver):
    endpoint, _ = make_endpoint(receiver.url)
    fire(push, source, "Listened")
    assert ANY_ENABLED.get() is True

    endpoint.enabled = False
    endpoint.save()

    assert ANY_ENABLED.get() is False
    assert endpoint_queries(push, source, "Unheard") == 0


def test_an_endpoint_disabled_automatically_is_forgotten(push, source):
    make_endpoint(dead_url())
    fire(push, source, "Failing")
    run_until_settled(timedelta(days=3))

    assert not WebhookEndpoint.objects.filter(enabled=True).exists()
    assert ANY_ENABLED.get() is False


def test_within_a_task_the_cache_is_asked_once(db, monkeypatch):
    """A unit of work (a task, a request: ``oncall.counted``) asks the shared cache once; its
    own change is seen at once, and the next unit asks again."""
    from oncall import counted

    ANY_ENABLED.get()  # counted: kept in the cache
    reads = []
    real_get = counted.cache.get
    monkeypatch.setattr(counted.cache, "get", lambda key, *a: reads.append(key) or real_get(key))

    counted.begin_unit()
    try:
        assert [ANY_ENABLED.get() for _ in range(3)] == [False] * 3
        assert len(reads) == 1
        endpoint = WebhookEndpoint.objects.create(name="Ops", url="https://example.com/hook")
        assert ANY_ENABLED.get() is True  # its own change, at once
    finally:
        counted.end_unit()
    endpoint.delete()
    reads.clear()
    ANY_ENABLED.get()
    ANY_ENABLED.get()
    assert len(reads) == 2  # outside a unit: every ask is a read
