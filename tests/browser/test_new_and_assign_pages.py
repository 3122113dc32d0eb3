"""Opening an incident by hand and assigning it, in a real browser, on a phone and on a
desktop: "New incident" from the list, the form, the new incident's page, "Assign…" to a
colleague, and the timeline that says so."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from oncall.models import Incident
from tests import factories
from tests.browser.pages import (
    DESKTOP_SCREEN,
    PASSWORD,
    PHONE_SCREEN,
    fits_the_screen,
    press,
    wait_for_heading,
    wait_for_text,
)

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(
    "browser", [PHONE_SCREEN, DESKTOP_SCREEN], indirect=True, ids=["phone", "desktop"]
)
def test_a_responder_opens_an_incident_by_hand_and_assigns_it(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    channel = factories.ChannelFactory(name="Storage")
    dana = factories.UserFactory(username="dana", first_name="Dana", password=PASSWORD)
    erin = factories.UserFactory(username="erin", first_name="Erin", last_name="Wu")
    channel.members.add(dana, erin)

    browser.get(f"{live_server.url}/incidents/")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys("dana")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    press(browser, "Sign in")
    wait_for_heading(browser, "Incidents")

    press(browser, "New incident")
    wait_for_heading(browser, "New incident")
    browser.find_element(By.NAME, "title").send_keys("NFS mounts hang on web-4")
    browser.find_element(By.NAME, "description").send_keys("Since the 10:00 deploy.")
    Select(browser.find_element(By.NAME, "severity")).select_by_visible_text("Critical")
    assert fits_the_screen(browser)
    screenshot("new-incident-form")
    press(browser, "Open incident")

    wait_for_heading(browser, "NFS mounts hang on web-4")
    wait_for_text(browser, ".page-messages", "Incident opened")
    assert "opened by hand by Dana" in browser.find_element(By.CSS_SELECTOR, ".facts").text
    assert "Since the 10:00 deploy." in browser.page_source
    screenshot("opened")

    press(browser, "Assign…")
    incident = Incident.objects.get()
    wait_for_heading(browser, f"Assign incident #{incident.number}")
    Select(browser.find_element(By.NAME, "target")).select_by_visible_text("Erin Wu")
    assert fits_the_screen(browser)
    screenshot("assign-form")
    press(browser, "Assign and notify")

    wait_for_text(browser, ".page-messages", "Assigned to Erin Wu by Dana")
    timeline = browser.find_element(By.CSS_SELECTOR, ".timeline").text
    assert "Opened by Dana" in timeline
    assert "Assigned to Erin Wu by Dana" in timeline
    assert fits_the_screen(browser)
    screenshot("assigned")
    incident.refresh_from_db()
    assert incident.assigned_to == erin
