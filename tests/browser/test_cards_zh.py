"""A card in Chinese, as a responder sees it in a real browser on a desktop and on a phone
(390 x 844): Feishu's card in the sandbox's chat client, and DingTalk's in its sandbox, for a
channel whose cards speak Chinese. Their screenshots are the artefacts an admin reviews
(``test-artifacts/browser/``), with the admin's and the incident list's in Chinese."""

from __future__ import annotations

import gc

import pytest
from selenium.webdriver.common.by import By

from integrations.dingtalk.platform import DingTalkPlatform
from integrations.dingtalk_sandbox.models import SandboxCard
from integrations.feishu.cards import delivery
from integrations.feishu.models import FeishuChat
from oncall.models import EscalationLevel
from tests.browser.pages import (
    DESKTOP_SCREEN,
    SMALL_PHONE_SCREEN,
    fits_the_screen,
    script_errors,
    wait_for_text,
)
from tests.dingtalk import cards_world
from tests.factories import AlertFactory, ChannelFactory, IncidentFactory
from tests.zh_text import english_words, visible_text

pytestmark = pytest.mark.browser

SCREENS = pytest.mark.parametrize(
    "browser", [DESKTOP_SCREEN, SMALL_PHONE_SCREEN], indirect=True, ids=["desktop", "phone"]
)
# The test's own names, shown as typed; the sandboxes' own pages around the cards are English.
NAMES = {"SRE", "Databases", "db", "Sandbox", "test", "app"}


def chinese_incident(channel):
    channel.card_language = "zh-hans"
    channel.save(update_fields=["card_language"])
    incident = IncidentFactory(
        channel=channel, title="数据库主从延迟 db-3", severity="critical", alert_count=1
    )
    AlertFactory(incident=incident, title="数据库主从延迟 db-3", description="延迟超过 30 秒")
    return incident


@SCREENS
def test_a_feishu_card_in_chinese(
    transactional_db, browser, screenshot, console_app, sandbox_app, sandbox_chat, live_server
):
    incident = chinese_incident(ChannelFactory(name="Databases"))
    group = FeishuChat.objects.create(app=console_app, chat_id=sandbox_chat.chat_id, name="SRE")
    delivery.notify(incident, console_app, [], [group])

    owner = sandbox_chat.owner
    browser.get(
        f"{live_server.url}/sandbox/feishu/client/{owner.user_id}/chat/{sandbox_chat.chat_id}/"
    )
    wait_for_text(browser, ".message-body", "数据库主从延迟 db-3")
    card = browser.find_element(By.CSS_SELECTOR, ".message.from-bot .message-body")
    screenshot("feishu-card-zh")

    assert "认领" in card.text
    assert english_words(visible_text(card.get_attribute("innerHTML")), NAMES) == []
    assert fits_the_screen(browser)
    assert script_errors(browser) == []


@pytest.fixture
def dingtalk_world(_drained_live_server, settings, console_over_http):
    cards_world.serve_from(settings, _drained_live_server.url)
    yield cards_world.build_world()
    gc.collect()


@SCREENS
def test_a_dingtalk_card_in_chinese(transactional_db, dingtalk_world, browser, screenshot):
    world = dingtalk_world
    incident = chinese_incident(world.channel)
    level = EscalationLevel.objects.create(rule=world.rule, position=1, escalate_after_minutes=5)
    level.users.add(world.users["alice"])
    DingTalkPlatform().notify(incident, world.rule, level, [world.users["alice"]])
    card = SandboxCard.objects.get()

    browser.get(f"{world.app.hosts.api}/cards/{card.pk}/")
    wait_for_text(browser, ".dt-card-title", "数据库主从延迟 db-3")
    shown = browser.find_element(By.CSS_SELECTOR, ".dt-card")
    screenshot("dingtalk-card-zh")

    assert "认领" in shown.text
    # The card's own parts, not the sandbox's line under it (its app, receiver and updates).
    parts = shown.find_elements(By.CSS_SELECTOR, ".dt-card-title, .dt-card-md, .dt-card-actions")
    said = "".join(part.get_attribute("outerHTML") for part in parts)
    assert english_words(visible_text(said), NAMES) == []
    assert fits_the_screen(browser)
