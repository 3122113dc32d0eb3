"""A DingTalk card click is answered in the card's language (``oncall.languages.card_language``:
the incident's channel's, else the console's), as Feishu's card answers are: the toast the
clicker reads is in the language of the card they clicked."""

from __future__ import annotations

import pytest

from integrations.dingtalk.cards import delivery
from integrations.dingtalk_sandbox import card_clicks
from tests.dingtalk.cards_world import cards_to, user_id_of
from tests.factories import IncidentFactory

pytestmark = pytest.mark.django_db(transaction=True)


def a_card_for_alice(world, language: str):
    world.channel.card_language = language
    world.channel.save()
    incident = IncidentFactory(channel=world.channel, severity="critical")
    delivery.notify(incident, world.app, [world.users["alice"]], [])
    (card,) = cards_to("alice")
    return card


def test_a_chinese_cards_click_is_answered_in_chinese(world):
    card = a_card_for_alice(world, "zh-hans")

    claimed = card_clicks.click(card, user_id_of("alice"), "claim")
    stranger = card_clicks.click(card, "staff-nobody", "close")
    nonsense = card_clicks.click(card, user_id_of("alice"), "snooze:forever")

    assert claimed.outcome == "已由你认领。"
    assert stranger.outcome.startswith("你的钉钉账号尚未关联控制台")
    assert world.app.homepage_url in stranger.outcome
    assert nonsense.outcome == "请选择暂缓多久。"


def test_an_english_cards_click_is_answered_in_english(world):
    card = a_card_for_alice(world, "en")

    claimed = card_clicks.click(card, user_id_of("alice"), "claim")
    stranger = card_clicks.click(card, "staff-nobody", "close")

    assert claimed.outcome == "Claimed by you."
    assert stranger.outcome.startswith("Your DingTalk account is not linked to the console")
