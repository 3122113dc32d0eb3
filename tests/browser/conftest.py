"""Headless Debian chromium for the browser tests, driven by Selenium through Debian's own
``chromedriver`` (``apt-get install chromium chromium-driver``; ``.ci/run`` installs both;
``chromium.py`` finds them). What the tests do with pages is in ``pages.py``.

Selenium rather than Playwright: Debian's chromedriver is built from the same source as its
chromium, so the pair always matches, while Playwright's Python package pins one Chromium
revision of its own and only hopes that a system build speaks the same protocol. The driver's
path is given explicitly, so Selenium Manager never looks for (or downloads) a driver.

Without chromium the tests are skipped on a developer's machine, and fail in CI (``CI`` set):
a CI that silently skipped them would prove nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chromium import system_chromium
from tests.browser.pages import PHONE_SCREEN

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@pytest.fixture
def browser(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator:
    """A headless chromium with a fresh profile, sized like a phone; parametrize it
    indirectly with another screen (a desktop window is one without a ``pixelRatio``)."""
    screen = getattr(request, "param", PHONE_SCREEN)
    browser_path, driver_path = system_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for argument in (
        "--headless=new",
        # CI runs as root, where chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        # The tests talk to the live server only: no update checks, sync or other calls out.
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
    ):
        options.add_argument(argument)
    if "pixelRatio" not in screen:
        options.add_argument(f"--window-size={screen['width']},{screen['height']}")
    else:
        # Headless windows have a minimum width above a phone's: emulate the phone's screen.
        options.add_experimental_option("mobileEmulation", {"deviceMetrics": screen})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.implicitly_wait(0)
    if "pixelRatio" not in screen:
        _size_the_viewport(driver, screen)
    yield driver
    driver.quit()


def _size_the_viewport(driver, screen: dict) -> None:
    """Make the page's viewport (not the window around it) the screen's size: even headless,
    chromium's window keeps room for a toolbar."""
    outer = driver.execute_script(
        "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]"
    )
    driver.set_window_size(screen["width"] + outer[0], screen["height"] + outer[1])


@pytest.fixture
def screenshot(browser, request: pytest.FixtureRequest):
    """``screenshot("step")`` saves ``test-artifacts/browser/<test>-<n>-<step>.png``."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    taken: list[str] = []

    def shoot(step: str) -> Path:
        taken.append(step)
        path = ARTIFACTS / f"{request.node.name}-{len(taken):02d}-{step}.png"
        browser.save_screenshot(str(path))
        return path

    yield shoot
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        shoot("failure")


@pytest.fixture
def console_over_http(settings):
    """The live server speaks plain http: cookies marked Secure would not come back."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so ``screenshot`` sees a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
