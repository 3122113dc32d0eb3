"""The admin's "send a test card": its buttons, clicked in Feishu, say the card is a test card
(in the console's language) rather than "This incident no longer exists"."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.cards.sample import send_test_card
from integrations.feishu.models import FeishuChat
from integrations.feishu_sandbox.models import SandboxMessage
from integrations.feishu_sandbox.send import Click, send_card_action
from oncall.models import Incident, TimelineEntry
from tests.factories import UserFactory
from tests.feishu.sandbox.world import link

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def test_card(console_app, sandbox_app, sandbox_people, sandbox_chat):
    """A test card sent to the SRE group; Alice is linked, Carol is not."""
    sandbox_app.card_request_url = console_app.card_callback_url
    sandbox_app.save()
    link(UserFactory(username="alice"), console_app, sandbox_app, sandbox_people["alice"])
    group = FeishuChat.objects.create(app=console_app, chat_id=sandbox_chat.chat_id, name="SRE")
    send_test_card(console_app, f"chat:{group.pk}")
    return SandboxMessage.objects.get(chat=sandbox_chat, msg_type="interactive")


def click_the_claim_button(sandbox_app, person, card):
    claim = next(
        element
        for block in json.loads(card.content)["elements"]
        if block["tag"] == "action"
        for element in block["actions"]
        if element.get("value", {}).get("action") == "claim"
    )
    return send_card_action(sandbox_app, person, card, Click("button", claim["value"], None))


@pytest.mark.parametrize("who", ["alice", "carol"])
def test_its_buttons_say_it_is_a_test_card(test_card, sandbox_app, sandbox_people, who):
    answer = click_the_claim_button(sandbox_app, sandbox_people[who], test_card)
    assert answer.toast.startswith("This is a test card")
    assert "no longer exists" not in answer.toast
    assert not Incident.objects.exists()
    assert not TimelineEntry.objects.exists()


def test_it_says_so_in_the_consoles_language(test_card, sandbox_app, sandbox_people, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    answer = click_the_claim_button(sandbox_app, sandbox_people["alice"], test_card)
    assert answer.toast.startswith("这是管理后台“发送测试卡片”发出的测试卡片")
