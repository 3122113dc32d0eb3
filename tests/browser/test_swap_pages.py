"""Shift swaps and the calendar URL in a real browser on a phone: Alice gives away part of a
shift from her list of upcoming shifts, Bob takes it, and both pages fit the screen."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from oncall.models import ScheduleOverride, ShiftSwap
from tests import factories
from tests.browser.pages import fits_the_screen, wait_for_heading, wait_until

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
ZONE = ZoneInfo("Asia/Shanghai")


def sign_in(browser, live_server, username: str, path: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}{path}")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys(username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Sign in']").click()


def wait_for_message(browser, text: str) -> None:
    wait_until(browser, EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".page-messages"), text))


def test_a_shift_is_given_away_and_taken_on_a_phone(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    alice = factories.UserFactory(
        username="alice", first_name="Alice", last_name="Chen", password=PASSWORD
    )
    bob = factories.UserFactory(username="bob", first_name="Bob", last_name="Li", password=PASSWORD)
    first = timezone.now().astimezone(ZONE).date() + timedelta(days=2)
    factories.ScheduleLayerFactory(
        schedule__name="SRE primary",
        people=[alice, bob],
        handoff_time=time(9),
        rotation_unit="days",
        start_date=first,
    )

    # Alice picks her first shift from her upcoming ones and gives away its afternoon.
    sign_in(browser, live_server, "alice", "/schedules/swaps/")
    wait_for_heading(browser, "Shift swaps")
    assert fits_the_screen(browser)
    browser.find_element(By.PARTIAL_LINK_TEXT, "Give away SRE primary").click()
    wait_for_heading(browser, "Shift swaps: SRE primary")
    afternoon = f"{first:%Y-%m-%d}T14:00"
    browser.execute_script("document.getElementById('swap-start').value = arguments[0]", afternoon)
    browser.find_element(By.ID, "id_note").send_keys("school play")
    screenshot("ask")
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Ask for a swap']").click()
    wait_for_message(browser, "You asked to give away")
    assert fits_the_screen(browser)
    screenshot("asked")
    swap = ShiftSwap.objects.get()
    assert swap.start.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M") == afternoon

    # Bob sees it among the requests he can take, and takes it.
    sign_in(browser, live_server, "bob", "/schedules/swaps/")
    wait_for_heading(browser, "Shift swaps")
    assert "school play" in browser.find_element(By.CSS_SELECTOR, ".swap").text
    browser.find_element(By.XPATH, "//main//button[starts-with(normalize-space(), 'Take')]").click()
    wait_for_message(browser, "instead of Alice Chen")
    assert fits_the_screen(browser)
    screenshot("taken")
    assert ScheduleOverride.objects.get().user == bob

    # His calendar URL, with its copy button, fits too.
    browser.get(f"{live_server.url}/account/calendar/")
    wait_for_heading(browser, "My on-call calendar")
    assert browser.find_element(By.ID, "calendar-url").get_attribute("value").endswith(".ics")
    assert fits_the_screen(browser)
    screenshot("calendar")
