"""The rows editors in a real browser (``oncall/rows.js``): a route's matchers added and removed
as rows, in a route the inline's "add another" made, saved as the JSON the API takes; and the
admin's home page."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from oncall.models import Route
from tests import factories
from tests.browser.pages import DESKTOP_SCREEN, script_errors, sign_in_to_the_admin

pytestmark = pytest.mark.browser


def _fill(row, key: str, op: str, value: str) -> None:
    row.find_element(By.CSS_SELECTOR, 'input[name$="-key"]').send_keys(key)
    Select(row.find_element(By.CSS_SELECTOR, 'select[name$="-op"]')).select_by_value(op)
    row.find_element(By.CSS_SELECTOR, 'input[name$="-value"]').send_keys(value)


@pytest.mark.parametrize("browser", [DESKTOP_SCREEN], indirect=True, ids=["desktop"])
def test_an_admin_adds_a_route_with_matcher_rows(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    channel = factories.ChannelFactory(name="Databases")
    source = factories.AlertSourceFactory(channel=None, name="Shared Alertmanager")
    sign_in_to_the_admin(browser, live_server)

    browser.get(f"{live_server.url}/admin/oncall/alertsource/{source.pk}/change/")
    routes = browser.find_element(By.ID, "routes-group")
    routes.find_element(By.PARTIAL_LINK_TEXT, "Add another").click()
    route = routes.find_element(By.ID, "routes-0")
    route.find_element(By.NAME, "routes-0-name").send_keys("db team")
    Select(route.find_element(By.ID, "id_routes-0-channels_from")).select_by_visible_text(
        "Databases"
    )
    route.find_element(By.ID, "id_routes-0-channels_add").click()
    editor = route.find_element(By.CSS_SELECTOR, "[data-rows]")
    for _ in range(3):
        editor.find_element(By.CSS_SELECTOR, "[data-rows-add]").click()
    rows = editor.find_elements(By.CSS_SELECTOR, "tbody tr:not([hidden])")
    _fill(rows[0], "labels.team", "eq", "db")
    _fill(rows[1], "title", "re", "Disk .*")
    rows[2].find_element(By.CSS_SELECTOR, "[data-rows-remove]").click()
    screenshot("matcher-rows")
    browser.find_element(By.NAME, "_continue").click()
    # The click only sends the form: wait for the admin to have saved it.
    WebDriverWait(browser, 15).until(lambda _: Route.objects.filter(source=source).exists())

    route = Route.objects.get(source=source)
    assert route.matchers == [
        {"key": "labels.team", "op": "eq", "value": "db"},
        {"key": "title", "op": "re", "value": "Disk .*"},
    ]
    assert list(route.channels.all()) == [channel]
    assert script_errors(browser) == []


@pytest.mark.parametrize("browser", [DESKTOP_SCREEN], indirect=True, ids=["desktop"])
def test_the_admin_home_page(transactional_db, browser, screenshot, console_over_http, live_server):
    factories.ChannelFactory(name="Databases")
    factories.FeishuAppFactory(name="Ops bot")
    sign_in_to_the_admin(browser, live_server)
    browser.get(f"{live_server.url}/admin/")
    screenshot("admin-home")
    assert browser.find_element(By.ID, "overview-channels").is_displayed()
    assert "Ops bot" in browser.find_element(By.CSS_SELECTOR, ".overview-apps").text
    assert script_errors(browser) == []
