"""A person opens the console's Feishu web app for the first time, in a real browser: the
sandbox's Feishu sign-in page identifies them, the console asks them to sign in with their
local account once, links the two, and lands them on the incident list; "My account" shows
the link, and unlinking asks first."""

from __future__ import annotations

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.wait import WebDriverWait

from integrations.feishu.models import LinkedAccount
from tests import factories
from tests.browser.pages import WAIT_SECONDS, fits_the_screen, wait_for_heading

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery staple"


@pytest.fixture
def console_over_http(console_over_http, settings):
    # Neither matched by email nor created: the person must sign in to link.
    settings.FEISHU_LINK_BY_VERIFIED_EMAIL = False
    settings.FEISHU_CREATE_ACCOUNTS = False


def test_first_visit_links_after_a_console_sign_in(
    transactional_db,
    browser,
    screenshot,
    console_over_http,
    console_app,
    sandbox_app,
    sandbox_people,
    live_server,
):
    sandbox_app.redirect_urls = [console_app.redirect_url]
    sandbox_app.save()
    person = factories.UserFactory(
        username="achen", email="a.chen@corp.example", first_name="Alice", password=PASSWORD
    )

    # Feishu opens the web app's homepage; the console sends the browser to Feishu's sign-in.
    browser.get(console_app.web_url)
    wait_for_heading(browser, f"Sign in to {sandbox_app.name}")
    assert "/open-apis/authen/v1/authorize" in browser.current_url
    screenshot("feishu-sign-in")

    browser.find_element(By.XPATH, "//button[@name='user'][contains(., 'Alice Chen')]").click()

    # Back on the console, which knows the Feishu user but no console account for them.
    wait_for_heading(browser, "Sign in to the console to link your Feishu account")
    assert "Alice Chen" in browser.page_source
    assert fits_the_screen(browser)
    screenshot("sign-in-to-link")

    browser.find_element(By.LINK_TEXT, "Sign in to the console").click()
    WebDriverWait(browser, WAIT_SECONDS).until(EC.url_contains("/accounts/login/"))
    browser.find_element(By.NAME, "login").send_keys("achen")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    screenshot("console-login")
    browser.find_element(By.NAME, "password").send_keys(Keys.ENTER)

    # Linked, signed in, and home: the incident list; "My account" shows the link.
    wait_for_heading(browser, "Incidents")
    assert browser.current_url == f"{live_server.url}/incidents/"
    browser.find_element(By.LINK_TEXT, "My account").click()
    wait_for_heading(browser, "My account")
    assert "linked as Alice Chen" in browser.page_source
    browser.find_element(By.LINK_TEXT, "Details of your linked accounts").click()
    wait_for_heading(browser, "Linked Feishu accounts")
    assert browser.current_url == f"{live_server.url}/account/feishu/"
    screenshot("linked")
    card = browser.find_element(By.CSS_SELECTOR, "section.link-card")
    assert "Alice Chen" in card.text
    assert "Switch account" in card.text
    assert fits_the_screen(browser)
    link = LinkedAccount.objects.get(user=person, app=console_app)
    assert link.open_id == sandbox_app.open_id_of(sandbox_people["alice"])
    assert link.name == "Alice Chen"

    # Unlinking asks first, then posts (with its CSRF token) and offers to link again.
    browser.find_element(By.PARTIAL_LINK_TEXT, "Unlink").click()
    wait_for_heading(browser, "Unlink your Feishu account from Sandbox?")
    screenshot("confirm-unlink")
    browser.find_element(By.XPATH, "//main//form//button[@type='submit']").click()
    wait_for_heading(browser, "Linked Feishu accounts")
    assert "no longer linked to Sandbox" in browser.page_source
    link_again = browser.find_element(By.CSS_SELECTOR, "section.link-card a.button-primary")
    assert link_again.text.startswith("Link")
    screenshot("unlinked")
    assert not LinkedAccount.objects.filter(user=person).exists()
