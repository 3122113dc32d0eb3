"""An alert's start is the source's own (Alertmanager's ``startsAt``), not when the console
heard of it: stored as ``Alert.started_at``, shown as "first seen" on the incident page, the
card and in templates, and given by the API beside ``first_seen`` (when the console received
it)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from oncall.models import Alert
from tests import payloads
from tests.factories import AlertSourceFactory

pytestmark = pytest.mark.django_db

STARTS_AT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # payloads.am_alert's startsAt


@pytest.fixture
def source(channel):
    return AlertSourceFactory(channel=channel, kind="alertmanager")


def test_it_stores_the_sources_start_time(push, source):
    push(source, payloads.alertmanager(payloads.am_alert()))

    alert = Alert.objects.get()
    assert alert.started_at == STARTS_AT
    assert alert.first_seen > STARTS_AT  # received now, long after it started
    assert alert.started == STARTS_AT


def test_a_later_event_without_a_start_keeps_the_one_known(push, source):
    push(source, payloads.alertmanager(payloads.am_alert()))
    again = payloads.am_alert()
    del again["startsAt"]
    push(source, payloads.alertmanager(again))

    assert Alert.objects.get().started_at == STARTS_AT


def test_a_start_later_than_the_console_heard_of_it_is_not_believed(push, source):
    # A sender with a fast clock: the alert cannot have started after it arrived.
    early = payloads.am_alert()
    early["startsAt"] = "2099-01-01T00:00:00Z"
    push(source, payloads.alertmanager(early))

    alert = Alert.objects.get()
    assert alert.started_at == alert.first_seen  # stored so: every reader (API, SQL) agrees
    assert alert.started == alert.first_seen


def test_the_page_shows_the_start_as_first_seen_and_when_it_was_received(push, source, signed_in):
    push(source, payloads.alertmanager(payloads.am_alert()))
    alert = Alert.objects.get()

    html = signed_in.get(f"/incidents/{alert.incident.public_id}/").content.decode()

    assert f'datetime="{STARTS_AT.isoformat()}"' in html
    assert "Received by the console" in html


def test_the_api_gives_the_start_beside_first_seen(push, source, signed_in):
    push(source, payloads.alertmanager(payloads.am_alert()))

    (alert,) = signed_in.get("/api/v1/alerts/").json()["results"]

    assert alert["started_at"].replace("Z", "+00:00") == STARTS_AT.isoformat()
    assert alert["first_seen"] != alert["started_at"]
