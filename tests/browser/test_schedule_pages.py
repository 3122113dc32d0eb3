"""A schedule's page in a real browser, on a desktop and on a 390-pixel phone: the two weeks
are drawn as rows (one per layer, overrides, the final line) where there is room, and as a
list of shifts by day on the phone, with nothing sticking out sideways."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from oncall.models import ScheduleOverride
from tests import factories
from tests.browser.pages import (
    DESKTOP_SCREEN,
    fits_the_screen,
    script_errors,
    sign_in_to_the_admin,
    wait_for_heading,
)

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
# An iPhone's width (CSS pixels): narrower than the Feishu frame the other tests use.
NARROW_PHONE = {"width": 390, "height": 844, "pixelRatio": 3}


def a_schedule_with_two_layers_and_an_override():
    people = [
        factories.UserFactory(username=name, first_name=name.title(), password=PASSWORD)
        for name in ("erin", "finn", "gail")
    ]
    schedule = factories.ScheduleFactory(name="Payments primary", time_zone="Europe/Berlin")
    today = timezone.now().date()
    factories.ScheduleLayerFactory(
        schedule=schedule,
        name="Weekly",
        position=0,
        people=people,
        start_date=today - timedelta(days=3),
        handoff_time=time(9),
    )
    factories.ScheduleLayerFactory(
        schedule=schedule,
        name="Business hours",
        position=1,
        people=people[1:],
        rotation_unit="days",
        start_date=today - timedelta(days=3),
        restrictions=[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}],
    )
    start = timezone.now() + timedelta(days=2)
    ScheduleOverride.objects.create(
        schedule=schedule, user=people[2], start=start, end=start + timedelta(hours=6)
    )
    return schedule, people[0]


def sign_in_and_open(browser, live_server, schedule, person) -> None:
    browser.get(f"{live_server.url}/schedules/{schedule.public_id}/")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys(person.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Sign in']").click()
    wait_for_heading(browser, "Payments primary")


@pytest.mark.parametrize(
    "browser", [DESKTOP_SCREEN, NARROW_PHONE], indirect=True, ids=["desktop-1280", "phone-390"]
)
def test_the_schedule_page_draws_two_weeks(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    schedule, person = a_schedule_with_two_layers_and_an_override()

    sign_in_and_open(browser, live_server, schedule, person)
    screenshot("schedule")

    grid = browser.find_element(By.CSS_SELECTOR, ".sched-grid")
    days = browser.find_elements(By.CSS_SELECTOR, ".sched-day")
    assert days, "the shifts by day are listed"
    assert browser.find_element(By.CSS_SELECTOR, ".on-call-now dd").text.strip()
    assert fits_the_screen(browser)
    if browser.get_window_size()["width"] >= 1000:
        assert grid.is_displayed()
        rows = browser.find_elements(By.CSS_SELECTOR, ".sched-grid .sched-row[data-row]")
        assert [row.get_attribute("data-row") for row in rows] == [
            "layer",
            "layer",
            "overrides",
            "final",
        ]
        final_bars = browser.find_elements(By.CSS_SELECTOR, '[data-row="final"] .sched-bar')
        assert final_bars
        assert all(bar.size["width"] > 0 for bar in final_bars)
        track = browser.find_element(By.CSS_SELECTOR, '[data-row="final"] .sched-track')
        # The bars stay inside their row: the two weeks fill the track and no more.
        right_edge = track.location["x"] + track.size["width"]
        assert all(bar.location["x"] + bar.size["width"] <= right_edge + 1 for bar in final_bars)
    else:
        assert not grid.is_displayed()
        shift = browser.find_element(By.CSS_SELECTOR, ".sched-day .shift")
        assert shift.is_displayed()
        assert shift.size["width"] <= browser.execute_script("return window.innerWidth")


@pytest.mark.parametrize("browser", [DESKTOP_SCREEN], indirect=True, ids=["desktop"])
def test_the_admins_preview_draws_the_same_timeline(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    schedule, _ = a_schedule_with_two_layers_and_an_override()
    sign_in_to_the_admin(browser, live_server)

    browser.get(f"{live_server.url}/admin/oncall/schedule/{schedule.pk}/change/")
    browser.execute_script("document.querySelector('.sched-preview').scrollIntoView()")
    screenshot("admin-preview")

    grid = browser.find_element(By.CSS_SELECTOR, ".sched-preview .sched-grid")
    assert grid.is_displayed()
    assert browser.find_elements(By.CSS_SELECTOR, '.sched-preview [data-row="final"] .sched-bar')
    # The turn order is shown as typed: one username per line.
    people = browser.find_element(By.ID, "id_layers-0-people").get_attribute("value")
    assert people.splitlines() == ["erin", "finn", "gail"]
    assert script_errors(browser) == []
    # Nothing sticks out sideways: the overrides' rows fit a laptop's screen.
    assert fits_the_screen(browser)
