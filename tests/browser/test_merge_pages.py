"""Merging and splitting from the incident page, in a real browser on a phone and a desktop:
choose an incident of the channel to merge in, read where the merged one went, split an alert
back out into its own incident."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

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

LONG_TITLE = "Replication lag above 30 s on every replica of the orders database " * 2


@pytest.mark.parametrize(
    "browser", [PHONE_SCREEN, DESKTOP_SCREEN], indirect=True, ids=["phone", "desktop"]
)
def test_a_responder_merges_two_incidents_and_splits_an_alert_back_out(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    channel = factories.ChannelFactory(name="Orders")
    person = factories.UserFactory(username="dana", first_name="Dana", password=PASSWORD)
    channel.members.add(person)
    target = factories.IncidentFactory(channel=channel, title="Orders API slow")
    factories.AlertFactory(incident=target, title="p99 latency high")
    source = factories.IncidentFactory(channel=channel, title=LONG_TITLE.strip())
    factories.AlertFactory(incident=source, title="Replica lag")

    browser.get(f"{live_server.url}/incidents/{target.public_id}/")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys("dana")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    press(browser, "Sign in")
    wait_for_heading(browser, "Orders API slow")

    press(browser, "Merge…")
    wait_for_heading(browser, f"Merge incident #{target.number}")
    assert fits_the_screen(browser)
    browser.find_element(By.CSS_SELECTOR, f'input[value="{source.public_id}"]').click()
    screenshot("merge-page")
    press(browser, f"Merge into #{target.number}")
    wait_for_text(browser, ".page-messages", f"Merged #{source.number} into #{target.number}")
    timeline = browser.find_element(By.CSS_SELECTOR, ".timeline").text
    assert f"#{source.number} merged into this incident by Dana (1 alert moved)" in timeline
    assert "Alerts (2)" in browser.page_source
    assert fits_the_screen(browser)
    screenshot("merged")

    browser.get(f"{live_server.url}/incidents/{source.public_id}/")
    notice = browser.find_element(By.CSS_SELECTOR, ".merged-notice")
    assert f"#{target.number} Orders API slow" in notice.text
    assert fits_the_screen(browser)
    screenshot("merged-incident")
    notice.find_element(By.TAG_NAME, "a").click()
    wait_for_heading(browser, "Orders API slow")

    split = "//main//button[normalize-space()='Split out into a new incident']"
    buttons = browser.find_elements(By.XPATH, split)
    assert len(buttons) == 2
    buttons[1].click()  # the second alert: the one the merge brought in
    wait_for_text(browser, ".page-messages", "The alert is in this new incident now")
    new = Incident.objects.exclude(pk__in=[target.pk, source.pk]).get()
    wait_for_heading(browser, "Replica lag")
    assert f"out of #{target.number}" in browser.find_element(By.CSS_SELECTOR, ".timeline").text
    assert new.alerts.get().title == "Replica lag"
    assert fits_the_screen(browser)
    screenshot("split-out")
