"""What the browser tests do with a page: wait for it, press its buttons, read it, sign in."""

from __future__ import annotations

from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.wait import WebDriverWait

from tests import factories

# Feishu's web-app frame on a phone: the pages must work at this size (CSS pixels).
PHONE_SCREEN = {"width": 412, "height": 915, "pixelRatio": 2}
# A smaller, common phone (iPhone 12 to 14): the incident list must start within its first screen.
SMALL_PHONE_SCREEN = {"width": 390, "height": 844, "pixelRatio": 3}
DESKTOP_SCREEN = {"width": 1280, "height": 900}
LAPTOP_SCREEN = {"width": 1280, "height": 800}
WAIT_SECONDS = 10
PASSWORD = "correct horse battery staple"


def wait_until(browser, condition) -> None:
    """Wait for ``condition`` across a page load. While the old page is torn down, chromium
    may answer for an element it just detached with "Node with given id does not belong to
    the document" (a plain WebDriverException): that is retried like a stale element, and
    only the timeout fails the test."""
    WebDriverWait(
        browser,
        WAIT_SECONDS,
        ignored_exceptions=(StaleElementReferenceException, WebDriverException),
    ).until(condition)


def wait_for_heading(browser, text: str) -> None:
    wait_until(browser, EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), text))


def fits_the_screen(browser) -> bool:
    """Nothing sticks out sideways (no horizontal scrolling on a phone). Measured against the
    screen's width (clientWidth): a phone widens its window.innerWidth to whatever sticks out,
    zooming the page out, which would hide the very overflow looked for."""
    return browser.execute_script(
        "var page = document.documentElement; return page.scrollWidth <= page.clientWidth"
    )


def wait_for_text(browser, css: str, text: str) -> None:
    wait_until(browser, EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))


def press(browser, label: str) -> None:
    """Click the button (or button-like link) in the page's main part whose text is ``label``."""
    xpath = (
        f"//main//button[normalize-space()='{label}'] | "
        f"//main//a[contains(@class, 'button')][normalize-space()='{label}']"
    )
    browser.find_element(By.XPATH, xpath).click()


def sign_in_to_the_admin(browser, live_server) -> None:
    factories.UserFactory(username="root", password=PASSWORD, is_staff=True, is_superuser=True)
    browser.get(f"{live_server.url}/admin/login/")
    browser.find_element(By.ID, "id_username").send_keys("root")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for_heading(browser, "What needs an admin now")  # the admin home (oncall.admin.site)


def script_errors(browser) -> list[str]:
    """What the page's scripts threw (chromium's console at SEVERE, minus a missing favicon)."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]
    ]
