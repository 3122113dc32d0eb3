"""The actions and links an incident offers (``oncall.offers``) on its Feishu card: buttons
that ask first where the action wants it, a click that runs the action once through
``offers.run_action`` as the linked clicker, and the offered links beside "Open in console"."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.cards.render import incident_card
from integrations.feishu_sandbox.send import Click, send_card_action
from tests.feishu.sandbox.test_card_interactions import world  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def provided(settings):
    settings.INCIDENT_OFFERS = ["tests.offers_provider.RunbookOffers"]


def offered_buttons(card: dict) -> dict[str, dict]:
    rows = [e for e in card["elements"] if e.get("tag") == "action"]
    buttons = [b for row in rows for b in row["actions"] if b["value"].get("action") == "offer"]
    return {b["value"]["key"]: b for b in buttons}


def click_offer(world, who: str, key: str):  # noqa: F811 (the fixture's value)
    value = {"action": "offer", "key": key, "incident": str(world["incident"].public_id)}
    return send_card_action(
        world["app"], world["people"][who], world["card"], Click("button", value)
    )


def test_the_card_offers_the_actions_and_links(world):  # noqa: F811
    card = incident_card(world["incident"])
    buttons = offered_buttons(card)
    assert list(buttons) == ["test:note", "test:ask", "test:fail"]
    assert buttons["test:ask"]["type"] == "danger"
    assert buttons["test:ask"]["confirm"]["text"]["content"] == "Roll back v2?"
    assert "confirm" not in buttons["test:note"]
    text = json.dumps(card)
    assert f"(https://runbooks.example/{world['incident'].number})" in text
    assert "javascript:" not in text


def test_a_click_runs_the_action_once_as_the_clicker(world):  # noqa: F811
    answer = click_offer(world, "alice", "test:note")
    assert not answer.failed, answer
    assert (answer.toast, answer.toast_type) == ("Noted.", "success")
    assert list(world["incident"].notes.values_list("body", "author__username")) == [
        ("ran by feishu", "alice")
    ]
    assert "Replication lag" in json.dumps(answer.card)


def test_a_failed_action_shows_an_error_toast(world):  # noqa: F811
    answer = click_offer(world, "alice", "test:fail")
    assert (answer.toast, answer.toast_type) == ("Status page answered 500.", "error")


def test_outsiders_and_the_unlinked_run_nothing(world):  # noqa: F811
    assert click_offer(world, "dave", "test:note").toast_type == "warning"
    assert click_offer(world, "carol", "test:note").toast_type == "warning"
    assert not world["incident"].notes.exists()


def test_an_action_no_longer_offered_gets_the_current_card(world, settings):  # noqa: F811
    settings.INCIDENT_OFFERS = []
    answer = click_offer(world, "alice", "test:note")
    assert answer.toast_type == "warning"
    assert "test:note" in answer.toast
    assert answer.card is not None
