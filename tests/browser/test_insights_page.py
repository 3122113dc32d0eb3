"""The insights page in a real browser, on a phone (390 CSS pixels wide) and on a desktop
(1280): its SVG charts and the tables beside them render and fit the screen. Screenshots go
to the test's temporary directory (``<tmp>/screenshots/``), not into the repository."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from oncall.models import Incident, TimelineEntry
from tests import factories
from tests.browser.pages import DESKTOP_SCREEN, fits_the_screen, wait_for_heading

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"
PHONE_390 = {"width": 390, "height": 844, "pixelRatio": 3}
Kind = TimelineEntry.Kind


def seed_a_week(channel, people) -> None:
    """An incident every few hours over the last days, most claimed and closed, each with an
    alert or two and a notification of both people. All inside "Last 7 days" at any hour:
    that period starts at midnight six days back, so it may hold only 6 days and a minute."""
    now = timezone.now()
    source = factories.AlertSourceFactory(channel=channel, name="Prometheus")
    for n in range(40):
        opened = now - timedelta(hours=3 * n + 1)  # at most 118 h ago
        claimer = people[n % 2]
        incident = factories.IncidentFactory(channel=channel, created_at=opened)
        if n % 5:
            incident.first_claimed_at = opened + timedelta(seconds=30 + 20 * n)
            incident.status, incident.closed_at = (
                Incident.Status.CLOSED,
                opened + timedelta(minutes=10 + n),
            )
            incident.save()
            factories.TimelineEntryFactory(
                incident=incident, kind=Kind.CLAIMED, actor=claimer,
                created_at=incident.first_claimed_at,
            )  # fmt: skip
        factories.TimelineEntryFactory(
            incident=incident, kind=Kind.NOTIFIED, created_at=opened,
            data={"notified_users": [p.pk for p in people]},
        )  # fmt: skip
        for k in range(1 + n % 2):
            factories.AlertFactory(
                incident=incident, source=source, alert_key=f"check-{(n + k) % 6}",
                title=f"Check {(n + k) % 6} failing", event_count=1 + n % 3, first_seen=opened,
            )  # fmt: skip


@pytest.mark.parametrize(
    "browser", [PHONE_390, DESKTOP_SCREEN], indirect=True, ids=["phone", "desktop"]
)
def test_the_insights_page_draws_its_charts_and_tables(
    transactional_db, browser, console_over_http, live_server, tmp_path: Path
):
    channel = factories.ChannelFactory(name="Storage")
    dana = factories.UserFactory(username="dana", first_name="Dana", password=PASSWORD)
    eli = factories.UserFactory(username="eli", first_name="Eli")
    channel.members.add(dana, eli)
    seed_a_week(channel, [dana, eli])
    shots = tmp_path / "screenshots"
    shots.mkdir()

    browser.get(f"{live_server.url}/insights/?period=7d")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys("dana")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//main//button[normalize-space()='Sign in']").click()
    wait_for_heading(browser, "Insights")

    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 6
    for chart in charts:
        assert chart.is_displayed()
        # As wide as its section (the SVG scales to the column), tall enough to read.
        section = chart.find_element(By.XPATH, "./ancestor::section[1]")
        assert chart.size["width"] >= 0.9 * section.size["width"]
        assert chart.size["width"] >= 300
        assert chart.size["height"] > 40
    columns = browser.find_elements(By.CSS_SELECTOR, "rect.chart-column")
    assert len(columns) == 7 + 24 + 7
    assert any(column.size["height"] > 0 for column in columns)
    assert browser.find_elements(By.CSS_SELECTOR, "rect.chart-bar-night") or (
        browser.find_elements(By.CSS_SELECTOR, "rect.chart-bar-day")
    )
    figures = {
        figure.find_element(By.TAG_NAME, "dt").text: figure.find_element(By.TAG_NAME, "dd").text
        for figure in browser.find_elements(By.CSS_SELECTOR, ".figure")
    }
    assert figures["Incidents"] == "40"
    responders = browser.find_element(
        By.XPATH, '//section[h2[normalize-space()="Responders\' load"]]//table'
    )
    assert "Dana" in responders.text
    assert "Eli" in responders.text
    assert fits_the_screen(browser)
    browser.save_screenshot(str(shots / "insights-top.png"))
    for heading in ("days-heading", "hours-heading", "alerts-heading"):
        browser.execute_script(f"document.getElementById('{heading}').scrollIntoView()")
        browser.save_screenshot(str(shots / f"insights-{heading}.png"))
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    browser.save_screenshot(str(shots / "insights-bottom.png"))
    assert (shots / "insights-top.png").stat().st_size > 0
