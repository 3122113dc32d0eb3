"""The browser tests skip without chromium on a developer's machine, and fail loudly in CI."""

from __future__ import annotations

import pytest

from tests.browser import chromium


@pytest.fixture
def no_chromium(monkeypatch):
    monkeypatch.setattr(chromium.shutil, "which", lambda name: None)


def test_it_skips_without_chromium_outside_ci(no_chromium, monkeypatch):
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception) as skipped:
        chromium.system_chromium()

    assert "apt-get install chromium chromium-driver" in str(skipped.value)


def test_it_fails_without_chromium_in_ci(no_chromium, monkeypatch):
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception) as failed:
        chromium.system_chromium()

    assert "CI must run the browser tests" in str(failed.value)


def test_it_finds_both_when_installed(monkeypatch):
    monkeypatch.setattr(chromium.shutil, "which", lambda name: f"/usr/bin/{name}")

    assert chromium.system_chromium() == ("/usr/bin/chromium", "/usr/bin/chromedriver")
