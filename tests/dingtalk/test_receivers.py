"""Per-receiver pacing of DingTalk sends (``integrations.dingtalk.receivers``), on a fake clock:
a group's or a person's messages a minute, a wait instead of a drop, receivers and apps apart,
and a card send held back (not failed) past the limit."""

from __future__ import annotations

import pytest

from integrations.dingtalk import receivers
from integrations.dingtalk.cards import delivery
from integrations.dingtalk.models import DingTalkCardDelivery, DingTalkGroup
from tests.dingtalk.factories import DingTalkAppFactory
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db

GROUP = receivers.group_receiver("cidWarRoom")
LIMIT = receivers.GROUP_LIMIT.messages


class Clock:
    """A fake clock that ``sleep`` moves on."""

    def __init__(self, now: float):
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pace(app, receiver, clock: Clock, max_wait: float = 0.0) -> None:
    receivers.pace(app, receiver, sleep=clock.sleep, clock=clock, max_wait=max_wait)


def test_it_sends_a_groups_limit_in_a_minute_then_asks_to_wait():
    app = DingTalkAppFactory()
    clock = Clock(6000.0)
    for _ in range(LIMIT):
        pace(app, GROUP, clock)
    with pytest.raises(receivers.ReceiverBusy) as busy:
        pace(app, GROUP, clock)
    assert busy.value.retry_after == pytest.approx(60.0)
    assert clock.slept == []


def test_it_waits_rather_than_drops_when_the_wait_is_short():
    app = DingTalkAppFactory()
    clock = Clock(6000.0)
    for _ in range(LIMIT):
        pace(app, GROUP, clock)
    clock.now = 6059.5  # half a second before the minute turns
    pace(app, GROUP, clock, max_wait=61.0)
    assert len(clock.slept) >= 1
    assert clock.now > 6060.0


def test_a_burst_at_the_turn_of_the_minute_is_held_to_the_limit():
    app = DingTalkAppFactory()
    clock = Clock(6059.0)  # the last second of a minute
    for _ in range(LIMIT):
        pace(app, GROUP, clock)
    clock.now = 6061.0  # the next minute, two seconds later: the last 60 s hold 20 already
    with pytest.raises(receivers.ReceiverBusy) as busy:
        pace(app, GROUP, clock)
    # The one sent 1/60 into the window: its share ebbs enough after a few seconds more.
    assert 0 < busy.value.retry_after < 5
    clock.now += busy.value.retry_after
    pace(app, GROUP, clock)


def test_a_refused_send_takes_no_place():
    app = DingTalkAppFactory()
    clock = Clock(6000.0)
    for _ in range(LIMIT):
        pace(app, GROUP, clock)
    for _ in range(5):
        with pytest.raises(receivers.ReceiverBusy):
            pace(app, GROUP, clock)
    clock.now = 6120.0  # two minutes on: the full minute before was the 20 sent
    for _ in range(LIMIT):
        pace(app, GROUP, clock)


def test_receivers_and_apps_are_paced_apart():
    app, other_app = DingTalkAppFactory(), DingTalkAppFactory()
    clock = Clock(6000.0)
    alice = receivers.person_receiver("staff-alice")
    for _ in range(LIMIT):
        pace(app, GROUP, clock)
    pace(app, alice, clock)
    pace(app, receivers.group_receiver("cidOther"), clock)
    pace(other_app, GROUP, clock)
    for _ in range(receivers.PERSON_LIMIT.messages - 1):
        pace(app, alice, clock)
    with pytest.raises(receivers.ReceiverBusy):
        pace(app, alice, clock)


def test_a_card_past_the_groups_limit_is_held_back_not_failed(monkeypatch):
    """The delivery's send asks the receiver's pacing first: past the limit it raises
    ``Paced`` (the task sends it again later) and records no failure."""
    app = DingTalkAppFactory()
    group = DingTalkGroup.objects.create(app=app, open_conversation_id="cidWarRoom", name="SRE")
    incident = IncidentFactory()
    clock = Clock(6000.0)
    monkeypatch.setattr(receivers, "CLOCK", clock)
    monkeypatch.setattr(receivers, "SLEEP", clock.sleep)
    for _ in range(LIMIT):
        pace(app, GROUP, clock)
    delivery.notify(incident, app, [], [group])
    row = DingTalkCardDelivery.objects.get(group=group)

    with pytest.raises(delivery.Paced) as paced:
        delivery.send(row.pk, client=app.client())

    assert paced.value.countdown == pytest.approx(60.0)
    row.refresh_from_db()
    assert (row.state, row.sent, row.attempts, row.last_error) == (
        DingTalkCardDelivery.State.PENDING,
        0,
        0,
        "",
    )


def test_the_card_task_sends_a_paced_card_again_later_without_spending_a_retry(monkeypatch):
    from integrations.dingtalk import tasks

    app = DingTalkAppFactory()
    group = DingTalkGroup.objects.create(app=app, open_conversation_id="cidWarRoom", name="SRE")
    clock = Clock(6000.0)
    monkeypatch.setattr(receivers, "CLOCK", clock)
    for _ in range(LIMIT):
        pace(app, GROUP, clock)
    delivery.notify(IncidentFactory(), app, [], [group])
    row = DingTalkCardDelivery.objects.get(group=group)
    queued: list[tuple] = []
    # The queue is the seam: what the task hands the broker is recorded, not run.
    monkeypatch.setattr(
        tasks.send_card, "apply_async", lambda args, countdown: queued.append((args, countdown))
    )

    tasks.send_card.run(row.pk)  # as a worker runs it (not eagerly)

    assert queued == [((row.pk,), pytest.approx(60.0))]
