"""The admin screens a new admin meets, in a real browser: an escalation rule's "add another
level" (people and chats to choose from, no script error, levels numbered from 1), and an
alert source's push URL, readable whole."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from tests import factories
from tests.browser.pages import DESKTOP_SCREEN, script_errors, sign_in_to_the_admin, wait_until

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("browser", [DESKTOP_SCREEN], indirect=True, ids=["desktop"])
def test_adding_a_level_offers_people_and_chats_to_choose_from(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    channel = factories.ChannelFactory(name="Storage")
    factories.UserFactory(username="dana", first_name="Dana")
    app = factories.FeishuAppFactory(name="Ops bot")
    factories.FeishuChatFactory(app=app, name="SRE war room")
    rule = channel.escalation_rules.get()
    sign_in_to_the_admin(browser, live_server)

    browser.get(f"{live_server.url}/admin/oncall/escalationrule/{rule.pk}/change/")
    headers = browser.find_elements(By.CSS_SELECTOR, ".inline-related h3")
    assert headers[0].text.startswith("Escalation level: Storage: Default: level 1")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Add another").click()
    screenshot("level-added")
    assert "#2" in browser.find_elements(By.CSS_SELECTOR, ".inline-related h3")[1].text

    # The new level's chats box lists the app's chats ...
    chats = browser.find_elements(By.CSS_SELECTOR, "#id_levels-1-chats option")
    assert [option.text for option in chats] == ["SRE war room"]
    # ... and its people box, opened, offers the people.
    people = browser.find_element(By.CSS_SELECTOR, "#id_levels-1-users + .select2")
    people.click()
    wait_until(
        browser,
        EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".select2-results"), "dana"),
    )
    screenshot("people-offered")
    assert script_errors(browser) == []


@pytest.mark.parametrize("browser", [DESKTOP_SCREEN], indirect=True, ids=["desktop"])
def test_a_sources_push_url_is_shown_whole(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    source = factories.AlertSourceFactory(channel=factories.ChannelFactory(), name="Grafana")
    sign_in_to_the_admin(browser, live_server)

    browser.get(f"{live_server.url}/admin/oncall/alertsource/{source.pk}/change/")
    box = browser.find_element(By.ID, f"push-url-{source.pk}")
    screenshot("push-url")
    assert box.get_attribute("value") == source.push_url
    # Nothing of the URL is scrolled out of its box.
    assert browser.execute_script(
        "return arguments[0].scrollWidth <= arguments[0].clientWidth", box
    )
    assert script_errors(browser) == []


@pytest.mark.parametrize("browser", [DESKTOP_SCREEN], indirect=True, ids=["desktop"])
def test_a_custom_webhook_mapping_is_tried_on_a_pasted_sample(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    import json

    from integrations.sources.custom_webhook.source import example_options
    from tests.sources.conftest import _read as read_fixture

    source = factories.AlertSourceFactory(
        channel=factories.ChannelFactory(), kind="custom_webhook", options=example_options()
    )
    sign_in_to_the_admin(browser, live_server)
    browser.get(f"{live_server.url}/admin/oncall/alertsource/{source.pk}/change/")

    sample = browser.find_element(By.CSS_SELECTOR, ".try-sample [data-try-input]")
    sample.send_keys(json.dumps(read_fixture("custom_webhook/firing")))
    browser.find_element(By.CSS_SELECTOR, ".try-sample [data-try-run]").click()
    result = (By.CSS_SELECTOR, ".try-sample [data-try-result]")
    wait_until(browser, EC.text_to_be_present_in_element(result, "Checkout API latency"))
    screenshot("sample-mapped")
    rows = browser.find_elements(By.CSS_SELECTOR, ".try-sample-events tr")
    assert len(rows) == 3  # the headings and two events

    title = browser.find_element(By.ID, "id_option_title")
    title.clear()
    title.send_keys("{{ alert.check.name }")
    browser.find_element(By.CSS_SELECTOR, ".try-sample [data-try-run]").click()
    wait_until(browser, EC.text_to_be_present_in_element(result, "template syntax error"))
    screenshot("mapping-error")
    assert script_errors(browser) == []


@pytest.mark.parametrize("browser", [DESKTOP_SCREEN], indirect=True, ids=["desktop"])
def test_the_pipeline_rules_on_the_page_are_tried_on_a_recent_event(
    transactional_db, browser, screenshot, console_over_http, live_server
):
    from django.test import Client

    from oncall.models import PipelineRule

    source = factories.AlertSourceFactory(channel=factories.ChannelFactory(), kind="standard")
    body = {"title_rule": "CPU high", "event_status": "Critical", "alert_key": "cpu"}
    pushed = Client().post(f"/push/{source.token}", body, content_type="application/json")
    assert pushed.status_code == 200
    PipelineRule.objects.create(
        source=source, position=1, action="set_title", template="[db] {{ Title }}"
    )
    sign_in_to_the_admin(browser, live_server)
    browser.get(f"{live_server.url}/admin/oncall/alertsource/{source.pk}/change/")

    browser.find_element(By.CSS_SELECTOR, ".try-pipeline [data-try-run]").click()
    result = (By.CSS_SELECTOR, ".try-pipeline [data-try-result]")
    wait_until(browser, EC.text_to_be_present_in_element(result, "CPU high → [db] CPU high"))
    screenshot("pipeline-tried")
    assert script_errors(browser) == []
