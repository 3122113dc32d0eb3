"""The actions and links an incident offers (``oncall.offers``) on its Feishu card: buttons
that ask first where the action wants it, a click that runs the action once through
``offers.run_action`` as the linked clicker, and the offered links beside "Open in console"."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.cards.render import incident_card
from integrations.feishu_sandbox.send import Click, send_card_action
from tests.feishu.sandbox.cards import offered_buttons

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def provided(settings):
    settings.INCIDENT_OFFERS = ["tests.offers_provider.RunbookOffers"]


def click_offer(card_world, who: str, key: str):
    value = {"action": "offer", "key": key, "incident": str(card_world["incident"].public_id)}
    return send_card_action(
        card_world["app"], card_world["people"][who], card_world["card"], Click("button", value)
    )


def test_the_card_offers_the_actions_and_links(card_world):
    card = incident_card(card_world["incident"])
    buttons = offered_buttons(card)
    assert list(buttons) == ["test:note", "test:ask", "test:fail"]
    assert buttons["test:ask"]["type"] == "danger"
    assert buttons["test:ask"]["confirm"]["text"]["content"] == "Roll back v2?"
    assert "confirm" not in buttons["test:note"]
    text = json.dumps(card)
    assert f"(https://runbooks.example/{card_world['incident'].number})" in text
    assert "javascript:" not in text


def test_a_click_runs_the_action_once_as_the_clicker(card_world):
    answer = click_offer(card_world, "alice", "test:note")
    assert not answer.failed, answer
    assert (answer.toast, answer.toast_type) == ("Noted.", "success")
    assert list(card_world["incident"].notes.values_list("body", "author__username")) == [
        ("ran by feishu", "alice")
    ]
    assert "Replication lag" in json.dumps(answer.card)


def test_a_failed_action_shows_an_error_toast(card_world):
    answer = click_offer(card_world, "alice", "test:fail")
    assert (answer.toast, answer.toast_type) == ("Status page answered 500.", "error")


def test_outsiders_and_the_unlinked_run_nothing(card_world):
    assert click_offer(card_world, "dave", "test:note").toast_type == "warning"
    assert click_offer(card_world, "carol", "test:note").toast_type == "warning"
    assert not card_world["incident"].notes.exists()


def test_an_action_no_longer_offered_gets_the_current_card(card_world, settings):
    settings.INCIDENT_OFFERS = []
    answer = click_offer(card_world, "alice", "test:note")
    assert answer.toast_type == "warning"
    assert "test:note" in answer.toast
    assert answer.card is not None
