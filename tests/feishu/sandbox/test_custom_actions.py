"""A channel's custom action on the Feishu card: a sandbox click calls the receiver once, as the
linked clicker, and the call is recorded once on the timeline; a slow call does not make
the click fail (Feishu waits 3 s for its answer, and so does the sandbox)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from django.db import connection

from integrations.feishu.cards.render import incident_card
from integrations.feishu_sandbox.send import Click, send_card_action
from oncall.custom_actions import runs, tasks
from oncall.models import TimelineEntry
from tests.clocks import FakeClock
from tests.custom_actions.conftest import make_action
from tests.custom_actions.receiver import Receiver
from tests.feishu.sandbox.cards import offered_buttons

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def offered(settings):
    settings.INCIDENT_OFFERS = ["oncall.custom_actions.offers.ChannelOffers"]
    settings.OUTBOUND_ALLOWED_NETWORKS = [*settings.OUTBOUND_ALLOWED_NETWORKS, "127.0.0.1/32"]


@pytest.fixture
def receiver():
    with Receiver() as running:
        yield running


def click(card_world, who: str, key: str):
    value = {"action": "offer", "key": key, "incident": str(card_world["incident"].public_id)}
    return send_card_action(
        card_world["app"], card_world["people"][who], card_world["card"], Click("button", value)
    )


def called(card_world) -> list[tuple[str, str]]:
    entries = TimelineEntry.objects.filter(
        incident=card_world["incident"], kind=TimelineEntry.Kind.ACTION_CALLED
    )
    return list(entries.values_list("source", "message"))


def test_the_card_offers_the_action_and_asks_first(card_world, receiver):
    incident = card_world["incident"]
    action = make_action(incident.channel, receiver, style="danger", confirm=True)

    button = offered_buttons(incident_card(incident))[action.key]

    assert button["type"] == "danger"
    assert button["confirm"]["text"]["content"] == f"Run “Roll back” on #{incident.number}?"


def test_a_click_calls_once_and_is_recorded_once(card_world, receiver):
    action = make_action(card_world["incident"].channel, receiver)

    answer = click(card_world, "alice", action.key)

    assert not answer.failed, answer
    assert answer.toast_type == "success"
    assert answer.toast.startswith("Roll back: 200 in ")
    assert [call.verified for call in receiver.calls] == [True]
    [(source, message)] = called(card_world)
    assert source == "feishu"
    assert message.startswith("Roll back called by Alice: 200 in ")


def test_an_outsider_click_calls_nothing(card_world, receiver):
    action = make_action(card_world["incident"].channel, receiver)

    assert click(card_world, "dave", action.key).toast_type == "warning"

    assert receiver.calls == []
    assert called(card_world) == []


def test_a_slow_call_does_not_fail_the_click(card_world, receiver, monkeypatch):
    """The worker (a thread here) makes the call; the click waits its budget for the result
    (2 s, on a fake clock), answers within Feishu's 3 s that the action is running, and the
    result reaches the timeline when the call ends. The worker is held until the click has
    answered: a receiver slower than the budget, without the wait."""
    clock = FakeClock()
    monkeypatch.setattr(runs, "time", SimpleNamespace(monotonic=clock, sleep=clock.sleep))
    call_may_end = threading.Event()
    workers: list[threading.Thread] = []

    def perform(run_id: int) -> None:
        try:
            call_may_end.wait(timeout=30)
            runs.perform(run_id)
        finally:
            connection.close()

    def worker(run_id: int) -> None:
        thread = threading.Thread(target=perform, args=(run_id,))
        workers.append(thread)
        thread.start()

    monkeypatch.setattr(tasks.call_action, "delay", worker)
    action = make_action(card_world["incident"].channel, receiver)
    started = clock()

    answer = click(card_world, "alice", action.key)
    assert not answer.failed, answer
    assert (answer.toast, answer.toast_type) == (
        "Roll back is running; its result goes on the timeline.",
        "success",
    )
    assert 2 <= clock() - started < 3
    assert called(card_world) == []
    again = click(card_world, "bob", action.key)
    assert again.toast == (
        "Roll back is already running (started by Alice); its result goes on the timeline."
    )

    call_may_end.set()
    for thread in workers:
        thread.join(timeout=30)
    assert len(receiver.calls) == 1
    [(_source, message)] = called(card_world)
    assert message.startswith("Roll back called by Alice: 200 in ")
