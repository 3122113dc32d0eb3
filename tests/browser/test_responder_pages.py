"""A responder's round, in a real browser, on a phone and on a desktop: sign in, watch a new
incident appear on the list without reloading, open it, claim it, snooze it, close it (after
confirming), and read what happened on its timeline."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from oncall.models import Incident, TimelineEntry
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

Kind = TimelineEntry.Kind


@pytest.mark.parametrize(
    "browser", [PHONE_SCREEN, DESKTOP_SCREEN], indirect=True, ids=["phone", "desktop"]
)
def test_a_responder_handles_an_incident_from_the_web(
    transactional_db, browser, screenshot, console_over_http, live_server, settings
):
    settings.INCIDENT_LIST_REFRESH_SECONDS = 1
    channel = factories.ChannelFactory(name="Storage")
    person = factories.UserFactory(username="dana", first_name="Dana", password=PASSWORD)
    channel.members.add(person)
    factories.IncidentFactory(channel=channel, title="Backups running late", severity="warning")

    # Sign in with the console account; home is the incident list.
    browser.get(f"{live_server.url}/incidents/")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys("dana")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    screenshot("sign-in")
    press(browser, "Sign in")
    wait_for_heading(browser, "Incidents")
    assert "Backups running late" in browser.page_source
    assert fits_the_screen(browser)

    # A new incident appears by itself, and is announced.
    # A mark on the window: a reload would wipe it.
    browser.execute_script("window.notReloaded = true")
    new = factories.IncidentFactory(channel=channel, title="Disk 97% full on nas-3")
    factories.AlertFactory(
        incident=new,
        labels={"instance": "nas-3", "severity": "critical"},
        links=[{"href": "http://alertmanager.example/#/alerts", "text": "Alertmanager"}],
    )
    wait_for_text(browser, "#incident-results", "Disk 97% full on nas-3")
    wait_for_text(browser, "#live-status", f"New incident: #{new.number}")
    assert browser.execute_script("return window.notReloaded") is True
    # Most urgent first: the new critical incident is above the older warning.
    first_row = browser.find_element(By.CSS_SELECTOR, ".incident-row")
    assert first_row.get_attribute("data-number") == str(new.number)
    assert browser.find_element(By.CSS_SELECTOR, '[data-count="triggered"]').text == "2"
    screenshot("new-incident-appeared")

    # Open it: its alert, labels and link back to the source.
    browser.find_element(By.PARTIAL_LINK_TEXT, "Disk 97% full on nas-3").click()
    wait_for_heading(browser, "Disk 97% full on nas-3")
    assert "nas-3" in browser.find_element(By.CSS_SELECTOR, ".labels").text
    assert (
        browser.find_element(By.LINK_TEXT, "Alertmanager")
        .get_attribute("href")
        .startswith("http://alertmanager.example/")
    )

    press(browser, "Claim")
    wait_for_text(browser, ".page-messages", "Claimed by you.")
    assert "Claimed by Dana" in browser.find_element(By.CSS_SELECTOR, ".badges").text
    assert fits_the_screen(browser)
    screenshot("claimed")

    Select(browser.find_element(By.NAME, "duration")).select_by_visible_text("2 hours")
    press(browser, "Snooze")
    wait_for_text(browser, ".page-messages", "Snoozed")
    assert "Snoozed until" in browser.find_element(By.CSS_SELECTOR, ".badges").text
    screenshot("snoozed")

    press(browser, "Close…")
    wait_for_heading(browser, f"Close incident #{new.number}?")
    browser.find_element(By.NAME, "note").send_keys("Old snapshots pruned")
    screenshot("confirm-close")
    press(browser, "Close incident")
    wait_for_text(browser, ".page-messages", "Closed.")
    assert browser.find_element(By.XPATH, "//main//button[normalize-space()='Reopen']")

    timeline = browser.find_element(By.CSS_SELECTOR, ".timeline").text
    assert "Claimed by Dana" in timeline
    assert "Snoozed by Dana for 2 h" in timeline
    assert "Closed by Dana: Old snapshots pruned" in timeline
    assert "via web" in timeline
    assert fits_the_screen(browser)
    screenshot("closed-timeline")

    new.refresh_from_db()
    assert new.status == Incident.Status.CLOSED
    assert list(new.timeline.order_by("created_at", "pk").values_list("kind", flat=True)) == [
        Kind.CLAIMED,
        Kind.SNOOZED,
        Kind.CLOSED,
    ]

    # Back on the list, the closed incident has left the open ones.
    browser.find_element(By.LINK_TEXT, "Incidents").click()
    wait_for_heading(browser, "Incidents")
    numbers = [
        r.get_attribute("data-number")
        for r in browser.find_elements(By.CSS_SELECTOR, ".incident-row")
    ]
    assert str(new.number) not in numbers
