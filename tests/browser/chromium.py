"""Where Debian's chromium and chromedriver are, for the browser tests; without them the tests
are skipped on a developer's machine and fail in CI (``CI`` set): a CI that silently skipped
them would prove nothing."""

from __future__ import annotations

import os
import shutil

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def system_chromium() -> tuple[str, str]:
    """Paths of chromium and chromedriver; skip (fail in CI) when either is missing."""
    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    missing = " and ".join(n for n, p in (("chromium", browser), ("chromedriver", driver)) if not p)
    message = f"{missing} not installed: apt-get install chromium chromium-driver"
    if in_ci():
        pytest.fail(f"CI must run the browser tests, but {message} (see .ci/run).")
    pytest.skip(message)
