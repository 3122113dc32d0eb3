"""The incident list as the person on call uses it, in a real browser: on a 390 x 844 phone the
first incident shows in the first screen with the filters folded behind one button; incidents
that arrived since the person last looked are marked "New" until seen; and, once the person
allows it, each incident that arrives while the tab is in the background becomes a browser
notification that opens the incident.

Screenshots of the list (desktop 1280 x 800 and phone 390 x 844, in English and in Chinese)
are saved by the ``screenshot`` fixture as ``test-artifacts/browser/<test>-<n>-<step>.png``
(git-ignored), e.g. ``test_on_a_phone_the_first_incident_shows_in_the_first_screen-01-en.png``.
"""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.select import Select

from tests import factories
from tests.browser.pages import (
    LAPTOP_SCREEN,
    PASSWORD,
    SMALL_PHONE_SCREEN,
    fits_the_screen,
    press,
    wait_for_heading,
    wait_for_text,
    wait_until,
)

pytestmark = pytest.mark.browser

# Installed before the page's own scripts (CDP Page.addScriptToEvaluateOnNewDocument): the page
# can be told it is in the background (window.__hidden), and every `new Notification(...)` is
# kept in window.__notifications instead of reaching the desktop, while the permission stays
# the browser's own (granted or denied through CDP).
NOTIFICATION_SHIM = """
(function () {
  window.__hidden = false;
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get: function () { return window.__hidden === true; }
  });
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get: function () { return window.__hidden === true ? "hidden" : "visible"; }
  });
  var Real = window.Notification;
  window.__notifications = [];
  window.__permissionRequests = 0;
  function Captured(title, options) {
    this.title = title;
    this.body = options && options.body;
    this.closed = false;
    window.__notifications.push(this);
  }
  Captured.prototype.close = function () { this.closed = true; };
  Object.defineProperty(Captured, "permission", { get: function () { return Real.permission; } });
  Captured.requestPermission = function (callback) {
    window.__permissionRequests += 1;
    return Real.requestPermission(callback);
  };
  window.Notification = Captured;
})();
"""


@pytest.fixture
def storage(transactional_db, settings, console_over_http):
    """Dana on call for the Storage channel, the list refreshing every second."""
    settings.INCIDENT_LIST_REFRESH_SECONDS = 1
    channel = factories.ChannelFactory(name="Storage")
    dana = factories.UserFactory(username="dana", first_name="Dana", password=PASSWORD)
    channel.members.add(dana)
    return channel


def sign_in(browser, live_server) -> None:
    browser.get(f"{live_server.url}/incidents/")
    wait_for_heading(browser, "Sign in")
    browser.find_element(By.ID, "id_login").send_keys("dana")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    press(browser, "Sign in")
    wait_for_heading(browser, "Incidents")


def switch_to_chinese(browser) -> None:
    Select(browser.find_element(By.ID, "language")).select_by_value("zh-hans")
    browser.find_element(By.CSS_SELECTOR, ".language-form button").click()
    wait_for_heading(browser, "故障")


def first_row(browser):
    return browser.find_element(By.CSS_SELECTOR, ".incident-row")


def row(browser, number: int):
    return browser.find_element(By.CSS_SELECTOR, f'.incident-row[data-number="{number}"]')


def within_first_screen(browser, element) -> bool:
    """The whole element is inside the viewport as the page is, without scrolling."""
    return browser.execute_script(
        "var box = arguments[0].getBoundingClientRect(), page = document.documentElement;"
        "return window.scrollY === 0 && box.top >= 0 && box.left >= 0"
        " && box.bottom <= page.clientHeight && box.right <= page.clientWidth;",
        element,
    )


def shown(browser, element) -> bool:
    """Rendered, by the browser's own account. (Selenium's is_displayed calls anything inside
    a closed <details> hidden, though a wide screen shows the filters' content unfolded.)"""
    return browser.execute_script("return arguments[0].checkVisibility()", element)


def filters_folded(browser) -> bool:
    fold = browser.find_element(By.CSS_SELECTOR, "details.filters-fold")
    search = browser.find_element(By.ID, "id_q")
    return fold.get_attribute("open") is None and not shown(browser, search)


def filters_button(browser) -> str:
    """The button's words as a screen reader reads them."""
    summary = browser.find_element(By.CSS_SELECTOR, ".filters-fold summary")
    return " ".join(summary.get_attribute("textContent").split())


def some_incidents(channel) -> list:
    titles = [
        ("RAID array degraded on nas-1, one disk of six failed", "critical"),
        ("Backups running late", "warning"),
        ("Snapshot pruning slower than usual", "info"),
        ("Replication lag above 5 minutes", "warning"),
        ("Quota at 85% for /srv/projects", "info"),
    ]
    return [
        factories.IncidentFactory(channel=channel, title=title, severity=severity)
        for title, severity in titles
    ]


@pytest.mark.parametrize("browser", [SMALL_PHONE_SCREEN], indirect=True, ids=["phone"])
def test_on_a_phone_the_first_incident_shows_in_the_first_screen(
    browser, screenshot, storage, live_server
):
    worst = some_incidents(storage)[0]
    # Signing in leaves its message on top of the list: the first screen has to hold both.
    sign_in(browser, live_server)

    first = first_row(browser)
    assert first.get_attribute("data-number") == str(worst.number)
    assert within_first_screen(browser, first)
    assert filters_folded(browser)
    assert fits_the_screen(browser)
    # Title, severity, state, channel and age, each readable inside the screen's width.
    for part in (
        ".incident-row-title",
        ".incident-row-severity",
        ".badge-state",
        ".incident-row-channel",
        "time",
    ):
        assert within_first_screen(browser, first.find_element(By.CSS_SELECTOR, part)), part
    assert "RAID array degraded" in first.text
    assert "Critical" in first.text
    assert "Storage" in first.text
    screenshot("en")

    # One button unfolds the filters; once applied they fold again, the button counting them.
    browser.find_element(By.CSS_SELECTOR, ".filters-fold summary").click()
    Select(browser.find_element(By.ID, "id_severity")).select_by_value("warning")
    screenshot("en-filters-open")
    press(browser, "Apply")
    wait_until(browser, EC.url_contains("severity=warning"))
    assert filters_folded(browser)
    assert filters_button(browser) == "Filters 1 filter on"
    severities = browser.find_elements(By.CSS_SELECTOR, ".incident-row-severity")
    assert [badge.text for badge in severities] == ["Warning", "Warning"]
    assert within_first_screen(browser, first_row(browser))

    browser.get(f"{live_server.url}/incidents/")
    wait_for_heading(browser, "Incidents")
    switch_to_chinese(browser)
    assert filters_folded(browser)
    assert filters_button(browser) == "筛选"
    assert within_first_screen(browser, first_row(browser))
    assert "严重" in first_row(browser).text
    assert fits_the_screen(browser)
    screenshot("zh-hans")


@pytest.mark.parametrize("browser", [LAPTOP_SCREEN], indirect=True, ids=["desktop"])
def test_on_a_desktop_the_filters_stay_unfolded(browser, screenshot, storage, live_server):
    some_incidents(storage)
    sign_in(browser, live_server)

    assert shown(browser, browser.find_element(By.ID, "id_q"))
    assert not shown(browser, browser.find_element(By.CSS_SELECTOR, ".filters-fold summary"))
    assert within_first_screen(browser, first_row(browser))
    screenshot("en")

    switch_to_chinese(browser)
    assert shown(browser, browser.find_element(By.ID, "id_q"))
    assert browser.find_element(By.ID, "notify-button").text == "新故障时通知我"
    screenshot("zh-hans")


def is_marked_new(element) -> bool:
    return "is-new" in element.get_attribute("class").split()


@pytest.mark.parametrize("browser", [SMALL_PHONE_SCREEN], indirect=True, ids=["phone"])
def test_new_incidents_are_marked_until_seen(browser, screenshot, storage, live_server):
    older = factories.IncidentFactory(channel=storage, title="Backups running late")
    sign_in(browser, live_server)
    # A first visit: nothing on the page is new to it.
    assert not is_marked_new(row(browser, older.number))

    # One arrives while the list is open: marked, with a "New" badge, without a reload.
    arrived = factories.IncidentFactory(channel=storage, title="Disk 97% full on nas-3")
    wait_for_text(browser, "#incident-results", "Disk 97% full on nas-3")
    assert is_marked_new(row(browser, arrived.number))
    assert row(browser, arrived.number).find_element(By.CSS_SELECTOR, ".badge-new").text == "New"
    assert not is_marked_new(row(browser, older.number))
    screenshot("arrived")
    # Refreshes that follow keep the mark: nobody has looked yet.
    wait_for_text(browser, "#live-status", "Updated at")
    assert is_marked_new(row(browser, arrived.number))

    # Using the page with the row on screen counts as seeing it: the mark fades away.
    browser.find_element(By.TAG_NAME, "h1").click()
    wait_until(browser, lambda b: not is_marked_new(row(b, arrived.number)))
    assert not row(browser, arrived.number).find_elements(By.CSS_SELECTOR, ".badge-new")

    # Away from the list, then back: what came meanwhile is new since the last look, even
    # after a look at the closed ones, where it could not show.
    browser.find_element(By.LINK_TEXT, "Channels").click()
    wait_for_heading(browser, "My channels")
    meanwhile = factories.IncidentFactory(channel=storage, title="Replication lag above 5 min")
    browser.get(f"{live_server.url}/incidents/?state=closed")
    wait_for_text(browser, "#incident-results", "No incidents here.")
    browser.find_element(By.TAG_NAME, "h1").click()
    browser.find_element(By.LINK_TEXT, "Incidents").click()
    wait_for_heading(browser, "Incidents")
    assert is_marked_new(row(browser, meanwhile.number))
    assert not is_marked_new(row(browser, arrived.number))
    screenshot("new-since-last-look")


def allow_notifications(browser, live_server, setting: str) -> None:
    browser.execute_cdp_cmd(
        "Browser.setPermission",
        {"permission": {"name": "notifications"}, "setting": setting, "origin": live_server.url},
    )


def notifications(browser) -> list[dict]:
    return browser.execute_script(
        "return window.__notifications.map(n => ({title: n.title, body: n.body}))"
    )


def send_tab_to_background(browser) -> None:
    browser.execute_script(
        "window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))"
    )


@pytest.mark.parametrize("browser", [LAPTOP_SCREEN], indirect=True, ids=["desktop"])
def test_a_person_who_allows_it_is_notified_of_new_incidents(
    browser, screenshot, storage, live_server
):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NOTIFICATION_SHIM})
    sign_in(browser, live_server)
    button = browser.find_element(By.ID, "notify-button")
    assert button.text == "Notify me of new incidents"
    assert button.get_attribute("aria-pressed") == "false"
    # Never asked on load: only the person's click asks.
    assert browser.execute_script("return window.__permissionRequests") == 0

    # The person clicks and the browser's prompt is answered "Allow" (granted through CDP).
    allow_notifications(browser, live_server, "granted")
    button.click()
    wait_until(browser, lambda b: button.get_attribute("aria-pressed") == "true")
    assert browser.execute_script("return window.__permissionRequests") == 1
    assert "while this tab is in the background" in browser.find_element(By.ID, "notify-help").text
    screenshot("notifications-on")

    # While the tab is in front, the list itself shows what arrives: no notification.
    shown_in_front = factories.IncidentFactory(channel=storage, title="Backups running late")
    wait_for_text(browser, "#incident-results", "Backups running late")
    assert is_marked_new(row(browser, shown_in_front.number))
    assert notifications(browser) == []

    # In the background, the list keeps refreshing and each new incident is a notification.
    send_tab_to_background(browser)
    arrived = factories.IncidentFactory(
        channel=storage, title="Disk 97% full on nas-3", severity="critical"
    )
    wait_until(browser, lambda b: notifications(b))
    assert notifications(browser) == [
        {"title": f"#{arrived.number} Disk 97% full on nas-3", "body": "Critical · Storage"}
    ]

    # Clicking the notification opens the incident.
    browser.execute_script("window.__notifications[0].onclick()")
    wait_for_heading(browser, "Disk 97% full on nas-3")
    assert browser.current_url.endswith(f"/incidents/{arrived.public_id}/")

    # The choice is remembered by this browser: back on the list, notifications are still on.
    browser.back()
    wait_for_heading(browser, "Incidents")
    button = browser.find_element(By.ID, "notify-button")
    wait_until(browser, lambda b: button.get_attribute("aria-pressed") == "true")
    assert browser.execute_script("return window.__permissionRequests") == 0

    # And turned off with the same button.
    button.click()
    assert button.get_attribute("aria-pressed") == "false"


@pytest.mark.parametrize("browser", [SMALL_PHONE_SCREEN], indirect=True, ids=["phone"])
def test_blocked_notifications_say_how_to_allow_them(browser, screenshot, storage, live_server):
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": NOTIFICATION_SHIM})
    allow_notifications(browser, live_server, "denied")
    some_incidents(storage)
    sign_in(browser, live_server)

    button = browser.find_element(By.ID, "notify-button")
    assert button.text == "Notifications blocked"
    assert within_first_screen(browser, first_row(browser))
    # The button explains itself when pressed, and asks nothing of the browser.
    button.click()
    assert "open the site settings" in browser.find_element(By.ID, "notify-help").text
    assert fits_the_screen(browser)
    screenshot("blocked")

    switch_to_chinese(browser)
    button = browser.find_element(By.ID, "notify-button")
    assert button.text == "通知已被阻止"
    button.click()
    assert "网站设置" in browser.find_element(By.ID, "notify-help").text
    assert browser.execute_script("return window.__permissionRequests") == 0
    screenshot("blocked-zh-hans")
