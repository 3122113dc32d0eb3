from __future__ import annotations

from typing import Any

import pytest

from tests import payloads
from tests.factories import AlertSourceFactory


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel)


@pytest.fixture
def fire(push, source):
    """Push Alertmanager alerts to ``source`` (or ``to=``) and process them inline."""

    def _fire(*alerts, to=None):
        response = push(to or source, payloads.alertmanager(*alerts))
        assert response.status_code == 200, response.content
        return response

    return _fire


@pytest.fixture
def emit(push, source):
    """Push one standard-protocol event to ``source`` (or ``to``) and process it. The modules
    that use it make ``source`` a standard-protocol one (``tests.noise.pushes``)."""

    def _emit(
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

    return _emit
