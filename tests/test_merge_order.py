"""Pushes merged in another order than they were received (two workers, one push each): what a
later-received push already said about an alert wins (``oncall.early_resolves``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oncall import early_resolves, ingest, tasks
from oncall.models import Alert, EarlyResolve, InboundEvent, Incident
from tests import payloads
from tests.factories import AlertSourceFactory

pytestmark = pytest.mark.django_db

TABLE = EarlyResolve._meta.db_table


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


def stored(source, status: str = "firing", name: str = "HighLatency") -> InboundEvent:
    """Accept a one-alert push without merging it: its task waits in the queue."""
    ingest.accept(
        source, payloads.alertmanager(payloads.am_alert(name, status=status)), body_bytes=0
    )
    return InboundEvent.objects.latest("pk")


def merged(inbound: InboundEvent) -> InboundEvent:
    assert ingest.process(inbound.pk) is True
    inbound.refresh_from_db()
    return inbound


def statements_of(work) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        work()
    return [query["sql"] for query in captured.captured_queries]


def touching_early_resolves(sql: list[str]) -> list[str]:
    return [statement for statement in sql if TABLE in statement]


# --- a resolve merged before its firing ---------------------------------------------------------


def test_it_opens_nothing_for_a_firing_merged_after_a_resolve_received_later(source):
    firing, resolve = stored(source), stored(source, "resolved")

    merged(resolve)  # the second worker was quicker
    firing = merged(firing)

    assert not Alert.objects.exists()
    assert not Incident.objects.exists()
    assert firing.status == InboundEvent.Status.PROCESSED
    assert "1 event(s) changed nothing" in " ".join(firing.notes)
    assert "fp-HighLatency-db-1:9100" in " ".join(firing.notes)


def test_it_opens_the_alert_of_a_firing_received_after_the_early_resolve(source):
    merged(stored(source, "resolved"))  # a resolve of an alert the console never saw

    firing = merged(stored(source))

    alert = Alert.objects.get()
    assert (alert.status, alert.incident.status) == ("firing", "triggered")
    assert firing.notes == []


def test_it_opens_the_alert_of_a_push_that_resolves_then_fires_it(source):
    # One push, one received moment: its events apply in order, nothing is late.
    alerts = [
        payloads.am_alert(status="resolved"),
        payloads.am_alert(status="firing"),
    ]
    ingest.accept(source, payloads.alertmanager(*alerts), body_bytes=0)

    merged(InboundEvent.objects.get())

    assert Alert.objects.get().status == "firing"
    assert not EarlyResolve.objects.exists()  # its own firing opened the alert


def test_it_keeps_the_later_of_two_early_resolves_of_an_alert(source, channel):
    now = timezone.now()
    identity = [(channel.pk, "disk")]
    early_resolves.remember(source, now, identity)
    early_resolves.remember(source, now - timedelta(minutes=1), identity)  # merged after it

    assert EarlyResolve.objects.get().received_at == now
    assert early_resolves.resolved_after(source, now - timedelta(seconds=1), identity) == set(
        identity
    )
    assert early_resolves.resolved_after(source, now, identity) == set()


# --- an alert a later-received push changed already ---------------------------------------------


@pytest.mark.parametrize("auto_close", [True, False])
def test_a_late_firing_does_not_fire_again_an_alert_a_later_resolve_resolved(
    source, channel, auto_close
):
    channel.auto_close = auto_close
    channel.save()
    merged(stored(source))
    repeat, resolve = stored(source), stored(source, "resolved")

    merged(resolve)
    repeat = merged(repeat)

    alert = Alert.objects.get()  # no second alert either, once its incident closed
    assert alert.status == "resolved"
    assert alert.event_count == 3  # counted, as every event is, but it changed nothing
    assert Incident.objects.get().status == ("closed" if auto_close else "triggered")
    assert "1 event(s) changed nothing" in " ".join(repeat.notes)


def test_a_late_resolve_leaves_an_alert_a_later_firing_changed_firing(source):
    merged(stored(source))
    resolve, repeat = stored(source, "resolved"), stored(source)

    merged(repeat)
    resolve = merged(resolve)

    alert = Alert.objects.get()
    assert (alert.status, alert.event_count) == ("firing", 3)  # counted, changing nothing
    assert Incident.objects.get().status == "triggered"
    assert "1 event(s) changed nothing" in " ".join(resolve.notes)
    assert not EarlyResolve.objects.exists()  # it found its alert: nothing to remember


# --- forgetting ----------------------------------------------------------------------------------


def test_remembered_resolves_expire_with_the_daily_purge_of_pushes(source):
    merged(stored(source, "resolved", name="Old"))
    merged(stored(source, "resolved", name="Recent"))
    EarlyResolve.objects.filter(alert_key__contains="Old").update(
        received_at=timezone.now() - early_resolves.REMEMBERED_FOR - timedelta(minutes=1)
    )

    assert tasks.purge_inbound_events() == 1  # the pushes are kept for days

    assert [r.alert_key for r in EarlyResolve.objects.all()] == ["fp-Recent-db-1:9100"]


def test_a_firing_received_before_an_expired_resolve_opens_its_alert(source):
    firing = stored(source)
    merged(stored(source, "resolved"))
    EarlyResolve.objects.update(received_at=timezone.now() - timedelta(hours=2))
    tasks.purge_inbound_events()

    merged(firing)

    assert Incident.objects.get().status == "triggered"


# --- cost ----------------------------------------------------------------------------------------


def test_a_batch_with_no_early_resolve_writes_none(source):
    merged(stored(source))  # an open alert
    repeat, resolve = stored(source), stored(source, "resolved")

    sql = statements_of(lambda: merged(repeat)) + statements_of(lambda: merged(resolve))

    assert touching_early_resolves(sql) == []


def test_a_batch_opening_an_alert_looks_up_early_resolves_once(source):
    sql = statements_of(lambda: merged(stored(source)))

    (lookup,) = touching_early_resolves(sql)
    assert lookup.startswith("SELECT")


def test_a_batch_with_early_resolves_writes_them_in_one_statement(source):
    alerts = [payloads.am_alert(f"A{n}", status="resolved") for n in range(5)]
    ingest.accept(source, payloads.alertmanager(*alerts), body_bytes=0)

    sql = statements_of(lambda: merged(InboundEvent.objects.get()))

    (write,) = touching_early_resolves(sql)
    assert write.startswith("INSERT")
    assert EarlyResolve.objects.count() == 5
