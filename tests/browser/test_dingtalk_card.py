"""The DingTalk sandbox's card as a responder sees it on a 390 x 844 phone: the incident's
title, its state in the severity's colour and its buttons fit the screen, and pressing "Claim"
calls the console back (sealed and signed), which claims the incident and updates the card.

Screenshots: ``test-artifacts/browser/<test>-<n>-<step>.png`` (git-ignored).
"""

from __future__ import annotations

import gc

import pytest
from selenium.webdriver.common.by import By

from integrations.dingtalk.cards.render import SEVERITY_COLOURS
from integrations.dingtalk.platform import DingTalkPlatform
from integrations.dingtalk_sandbox.models import SandboxCard
from oncall.models import EscalationLevel
from tests.browser.pages import SMALL_PHONE_SCREEN, fits_the_screen, wait_for_text
from tests.dingtalk import cards_world
from tests.factories import IncidentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def rgba(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, 1)"


@pytest.fixture
def world(_drained_live_server, settings, console_over_http):
    cards_world.serve_from(settings, _drained_live_server.url)
    yield cards_world.build_world()
    gc.collect()


@pytest.mark.parametrize("browser", [SMALL_PHONE_SCREEN], indirect=True)
def test_the_sandbox_card_fits_a_phone_and_its_claim_button_claims(
    world, browser, screenshot, live_server
):
    incident = IncidentFactory(channel=world.channel, title="Replication lag on db-3")
    level = EscalationLevel.objects.create(rule=world.rule, position=1, escalate_after_minutes=5)
    level.users.add(world.users["alice"])
    DingTalkPlatform().notify(incident, world.rule, level, [world.users["alice"]])
    card = SandboxCard.objects.get()

    browser.get(f"{world.app.hosts.api}/cards/{card.pk}/")
    wait_for_text(browser, ".dt-card-title", "Replication lag on db-3")
    state = browser.find_element(By.CSS_SELECTOR, ".dt-card-md span")
    assert state.value_of_css_property("color") == rgba(SEVERITY_COLOURS["critical"])
    assert fits_the_screen(browser)
    screenshot("dingtalk-card")

    browser.find_element(By.XPATH, "//button[normalize-space()='Claim']").click()
    wait_for_text(browser, ".messages", "Claimed by you.")
    wait_for_text(browser, ".dt-card", "Claimed by Alice")
    assert fits_the_screen(browser)
    screenshot("claimed")
    incident.refresh_from_db()
    assert incident.claimed_by == world.users["alice"]
