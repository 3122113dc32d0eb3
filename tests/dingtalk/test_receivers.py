"""Per-receiver pacing of DingTalk sends (``integrations.dingtalk.receivers``), on a fake clock:
a group's or a person's 20 messages in any minute, exactly (a sliding window), a wait instead of
a drop, receivers and apps apart, and a card send held back (not failed) past the limit.

Both backends of the toolkit's limiter count the same (``tests.chatkit.limiters``): the database
on every run, Redis (this process's own database, ``own_redis_url``) in the PostgreSQL + Redis
stage."""

from __future__ import annotations

import pytest

from integrations.dingtalk import receivers
from integrations.dingtalk.cards import delivery
from integrations.dingtalk.models import DingTalkCardDelivery, DingTalkGroup
from tests.chatkit.limiters import limiter_fixture
from tests.clocks import FakeClock
from tests.dingtalk.factories import DingTalkAppFactory
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

GROUP = receivers.group_receiver("cidWarRoom")
LIMIT = receivers.GROUP_LIMIT.messages
T0 = 6000.0  # the start of a clock minute


@pytest.fixture
def clock():
    return FakeClock(T0)


limiter = limiter_fixture("dingtalk.DingTalkRateWindow", "dingtalk-pacing")


@pytest.fixture
def paced_sends(monkeypatch, limiter, clock):
    """The card sends pace on the test's limiter and sleep on its clock."""
    monkeypatch.setattr(receivers, "LIMITER", lambda: limiter)
    monkeypatch.setattr(receivers, "SLEEP", clock.sleep)


def pace(app, receiver, limiter, clock: FakeClock, max_wait: float = 0.0) -> None:
    receivers.pace(app, receiver, limiter=limiter, sleep=clock.sleep, max_wait=max_wait)


def busy_for(app, receiver, limiter, clock: FakeClock) -> float:
    """The wait a refused send is told (and that it is refused)."""
    with pytest.raises(receivers.ReceiverBusy) as busy:
        pace(app, receiver, limiter, clock)
    return busy.value.retry_after


def test_it_sends_20_in_a_minute_and_the_21st_waits_until_the_oldest_leaves(limiter, clock):
    app = DingTalkAppFactory()
    pace(app, GROUP, limiter, clock)  # the oldest, at T0
    clock.advance(10.0)
    for _ in range(LIMIT - 1):
        pace(app, GROUP, limiter, clock)
    clock.advance(20.0)

    assert busy_for(app, GROUP, limiter, clock) == pytest.approx(30.0)  # T0 + 60 s
    clock.now = T0 + 60.0
    pace(app, GROUP, limiter, clock)  # the oldest has left: one place
    assert busy_for(app, GROUP, limiter, clock) == pytest.approx(10.0)  # the next oldest's
    assert clock.slept == []


def test_a_short_wait_is_slept_in_place_then_the_message_goes(limiter, clock):
    app = DingTalkAppFactory()
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    clock.now = T0 + 59.5  # half a second before the oldest is a minute old

    pace(app, GROUP, limiter, clock, max_wait=receivers.MAX_WAIT_SECONDS)

    assert clock.slept == [0.5]
    assert clock.now == T0 + 60.0


def test_a_wait_past_max_wait_is_given_back_not_slept(limiter, clock):
    app = DingTalkAppFactory()
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    clock.now = T0 + 58.5

    with pytest.raises(receivers.ReceiverBusy) as busy:
        pace(app, GROUP, limiter, clock, max_wait=receivers.MAX_WAIT_SECONDS)

    assert busy.value.retry_after == pytest.approx(1.5)
    assert clock.slept == []


def test_a_burst_at_the_turn_of_the_minute_is_held_to_the_limit(limiter, clock):
    app = DingTalkAppFactory()
    clock.now = T0 + 59.0  # the last second of a clock minute
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    clock.now = T0 + 61.0  # the next clock minute, two seconds later: the last 60 s hold 20

    assert busy_for(app, GROUP, limiter, clock) == pytest.approx(58.0)
    clock.now = T0 + 119.0
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)


def test_a_refused_send_takes_no_place(limiter, clock):
    app = DingTalkAppFactory()
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    for seconds in range(5):
        clock.now = T0 + 1.0 + seconds
        busy_for(app, GROUP, limiter, clock)

    clock.now = T0 + 60.0  # the 20 have left the window; the refusals were never in it
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    assert busy_for(app, GROUP, limiter, clock) == pytest.approx(60.0)


def test_receivers_and_apps_are_paced_apart(limiter, clock):
    app, other_app = DingTalkAppFactory(), DingTalkAppFactory()
    alice = receivers.person_receiver("staff-alice")
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    pace(app, alice, limiter, clock)
    pace(app, receivers.group_receiver("cidOther"), limiter, clock)
    pace(other_app, GROUP, limiter, clock)
    for _ in range(receivers.PERSON_LIMIT.messages - 1):
        pace(app, alice, limiter, clock)

    assert busy_for(app, alice, limiter, clock) == pytest.approx(60.0)
    assert busy_for(app, GROUP, limiter, clock) == pytest.approx(60.0)


def test_a_card_past_the_groups_limit_is_held_back_not_failed(limiter, clock, paced_sends):
    """The delivery's send asks the receiver's pacing first: past the limit it raises
    ``Paced`` (the task sends it again later) and records no failure."""
    app = DingTalkAppFactory()
    group = DingTalkGroup.objects.create(app=app, open_conversation_id="cidWarRoom", name="SRE")
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    clock.advance(15.0)
    delivery.notify(IncidentFactory(), app, [], [group])
    row = DingTalkCardDelivery.objects.get(group=group)

    with pytest.raises(delivery.Paced) as paced:
        delivery.send(row.pk, client=app.client())

    assert paced.value.countdown == pytest.approx(45.0)
    assert clock.slept == []
    row.refresh_from_db()
    assert (row.state, row.sent, row.attempts, row.last_error) == (
        DingTalkCardDelivery.State.PENDING,
        0,
        0,
        "",
    )


def test_the_card_task_sends_a_paced_card_again_later_without_spending_a_retry(
    monkeypatch, limiter, clock, paced_sends
):
    from integrations.dingtalk import tasks

    app = DingTalkAppFactory()
    group = DingTalkGroup.objects.create(app=app, open_conversation_id="cidWarRoom", name="SRE")
    for _ in range(LIMIT):
        pace(app, GROUP, limiter, clock)
    delivery.notify(IncidentFactory(), app, [], [group])
    row = DingTalkCardDelivery.objects.get(group=group)
    queued: list[tuple] = []
    # The queue is the seam: what the task hands the broker is recorded, not run.
    monkeypatch.setattr(
        tasks.send_card, "apply_async", lambda args, countdown: queued.append((args, countdown))
    )

    tasks.send_card.run(row.pk)  # as a worker runs it (not eagerly)

    assert queued == [((row.pk,), pytest.approx(60.0))]
