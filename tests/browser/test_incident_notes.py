"""Notes in a real browser on a phone (Feishu's web-app frame): write one under the timeline,
see it rendered in place, edit it, and nothing on the page scrolls sideways, however long the
note's words and code lines are."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By

from oncall.models import IncidentNote
from tests import factories
from tests.browser.pages import (
    DESKTOP_SCREEN,
    PHONE_SCREEN,
    fits_the_screen,
    wait_for_heading,
    wait_until,
)

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
NOTE = (
    "**Failing over** to db-3; see [the runbook](https://wiki.example/db-failover)\n\n"
    "```\npg_ctl promote -D /var/lib/postgresql/16/main --wait --timeout=600 && echo promoted-"
    + "x" * 80
    + "\n```\n\n"
    + "averyveryverylongwordwithoutanyspaces" * 4
    + " <script>document.title='pwned'</script>"
)


@pytest.mark.parametrize(
    "browser", [PHONE_SCREEN, DESKTOP_SCREEN], indirect=True, ids=["phone", "desktop"]
)
def test_a_responder_writes_and_edits_a_note(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    channel = factories.ChannelFactory(name="Storage")
    person = factories.UserFactory(username="dana", first_name="Dana", password=PASSWORD)
    channel.members.add(person)
    incident = factories.IncidentFactory(channel=channel, title="Replication lag on db-2")

    browser.get(f"{live_server.url}/incidents/{incident.public_id}/")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys("dana")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Sign in']").click()
    wait_for_heading(browser, "Replication lag on db-2")

    browser.find_element(By.ID, "id_body").send_keys(NOTE)
    screenshot("writing")
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Add note']").click()
    wait_until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".note-body strong"))

    note = IncidentNote.objects.get()
    body = browser.find_element(By.CSS_SELECTOR, ".note-body")
    assert body.find_element(By.TAG_NAME, "strong").text == "Failing over"
    link = body.find_element(By.TAG_NAME, "a")
    assert link.get_attribute("href") == "https://wiki.example/db-failover"
    assert "<script>" in body.text  # shown as typed, never run
    assert browser.title != "pwned"
    assert "Note by Dana" in browser.page_source
    assert fits_the_screen(browser)
    screenshot("noted")

    browser.find_element(By.LINK_TEXT, "Edit or delete").click()
    wait_for_heading(browser, f"Your note on incident #{incident.number}")
    assert fits_the_screen(browser)
    field = browser.find_element(By.ID, "id_body")
    field.clear()
    field.send_keys("Failed over to db-3: _done_")
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Save note']").click()
    wait_until(browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".note-body em"))
    assert "edited" in browser.find_element(By.ID, f"note-{note.public_id}").text
    assert fits_the_screen(browser)
    screenshot("edited")
