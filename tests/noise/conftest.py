from __future__ import annotations

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
