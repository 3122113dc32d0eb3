"""Pushes of the standard protocol for the pipeline, silence and maintenance tests: ``emit``
sends one event to the module's ``source`` (a standard-protocol source, see
:func:`standard_source`) and processes it."""

from __future__ import annotations

from typing import Any

import pytest

from oncall.models import AlertSource, Channel
from tests.factories import AlertSourceFactory


def standard_source(channel: Channel) -> AlertSource:
    return AlertSourceFactory(channel=channel, kind="standard", name="Probe")


@pytest.fixture
def emit(push, source):
    """Push one standard-protocol event to ``source`` (or ``to``) and process it."""

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
