"""Helpers for the noise-reduction tests: a standard-protocol source and pushes to it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import AlertSourceFactory


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel, kind="standard", name="Probe")


@pytest.fixture
def fire(push, source):
    """Push one standard-protocol event to ``source`` (or another) and process it."""

    def _fire(
        title: str = "CPU high on web-1",
        *,
        key: str = "cpu-web-1",
        status: str = "Critical",
        to: Any = None,
        **labels: str,
    ):
        body = {"title_rule": title, "event_status": status, "alert_key": key, "labels": labels}
        response = push(to or source, body)
        assert response.status_code == 200, response.content
        return response

    return _fire
