"""Uptime Kuma: webhook and FlashDuty-type notifications through the parser, and pushes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from integrations.sources.uptime_kuma import parser as kuma
from integrations.sources.uptime_kuma.source import UptimeKumaSource
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from tests.factories import AlertSourceFactory


def test_a_monitor_going_down_fires_keyed_by_its_id(load_fixture):
    [event] = kuma.parse(load_fixture("uptime_kuma/firing"))

    assert (event.alert_key, event.kind) == ("12", EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "Critical")
    assert event.title == "Checkout API is down"
    assert event.description == (
        "Request failed with status code 503\n\n"
        "[Checkout API] [🔴 Down] Request failed with status code 503"
    )
    assert event.labels == {
        "team": "shop",
        "monitor": "Checkout API",
        "monitor_type": "http",
        "resource": "https://shop.example.org/api/health",
    }
    assert event.links == (Link("https://shop.example.org/api/health", "Monitored URL"),)
    assert event.starts_at == datetime(2024, 5, 14, 9, 51, 3, 157000, tzinfo=UTC)


def test_a_monitor_coming_up_resolves_the_same_alert(load_fixture):
    [event] = kuma.parse(load_fixture("uptime_kuma/recovered"))

    assert (event.alert_key, event.kind, event.title) == (
        "12",
        EventKind.RESOLVED,
        "Checkout API is up",
    )
    assert event.ends_at == datetime(2024, 5, 14, 10, 3, 3, 21000, tzinfo=UTC)
    assert event.starts_at is None


@pytest.mark.parametrize(("option", "severity"), UptimeKumaSource.severity_table)
def test_the_severity_option_follows_the_knowledge_base_table(option, severity, load_fixture):
    [event] = kuma.parse(load_fixture("uptime_kuma/firing"), severity=option)

    assert (event.severity, event.raw_severity) == (severity, option)


def test_the_table_is_critical_warning_info():
    assert dict(UptimeKumaSource.severity_table) == {
        "Critical": Severity.CRITICAL,
        "Warning": Severity.WARNING,
        "Info": Severity.INFO,
    }


def test_a_port_monitor_has_no_link_and_its_host_and_port_as_resource(load_fixture):
    [event] = kuma.parse(load_fixture("uptime_kuma/port_monitor"))

    assert event.alert_key == "31"
    assert event.links == ()
    assert event.labels == {
        "monitor": "MySQL primary",
        "monitor_type": "port",
        "resource": "db-1.internal:3306",
    }


@pytest.mark.parametrize("case", ["pending", "test_button"])
def test_pending_heartbeats_and_the_test_button_carry_no_alert(case, load_fixture):
    assert kuma.parse(load_fixture(f"uptime_kuma/{case}")) == []


# What Uptime Kuma's FlashDuty type posts (server/notification-providers/flashduty.js) when its
# integration key is the push URL: the standard protocol, so no fixture (the standard kind
# recognises it).
FLASHDUTY_TYPE_DOWN = {
    "description": (
        "[Uptime Kuma Monitor 🔴 Down] [Checkout API] Request failed with status code 503"
    ),
    "title": "Uptime Kuma Monitor 🔴 Down",
    "event_status": "Warning",
    "alert_key": "12",
    "labels": {
        "resource": "https://shop.example.org/api/health",
        "check": "Checkout API",
        "team": "shop",
    },
}


def test_the_flashduty_type_is_read_as_the_standard_protocol_with_the_same_key():
    [event] = kuma.parse(FLASHDUTY_TYPE_DOWN)

    assert (event.alert_key, event.kind, event.severity) == (
        "12",
        EventKind.FIRING,
        Severity.WARNING,
    )
    assert event.title == "Uptime Kuma Monitor 🔴 Down"
    assert event.labels["check"] == "Checkout API"


def test_the_flashduty_types_ok_resolves():
    payload = dict(FLASHDUTY_TYPE_DOWN, event_status="Ok", title="Uptime Kuma Monitor ✅ Up")

    [event] = kuma.parse(payload)

    assert (event.alert_key, event.kind) == ("12", EventKind.RESOLVED)


BAD_CASES = {
    "bad_status": (
        "heartbeat.status",
        "heartbeat.status must be 0 (down), 1 (up), 2 (pending) or 3",
    ),
    "bad_no_monitor_id": ("monitor.id", "monitor.id is required"),
    "bad_neither_shape": ("heartbeat", "neither Uptime Kuma's webhook"),
    "bad_tags_not_array": ("monitor.tags", "monitor.tags must be an array, not a string"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        kuma.parse(load_fixture(f"uptime_kuma/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("uptime_kuma", "bad_") == sorted(BAD_CASES)


def test_it_recognises_the_webhook_type_and_nothing_else(load_fixture):
    assert kuma.recognises(load_fixture("uptime_kuma/firing"))
    assert kuma.recognises(load_fixture("uptime_kuma/test_button"))
    assert not kuma.recognises(FLASHDUTY_TYPE_DOWN)
    assert not kuma.recognises(load_fixture("standard/firing"))
    assert not kuma.recognises(load_fixture("zabbix/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="uptime_kuma")

    assert push(source, load_fixture("uptime_kuma/firing")).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, alert.severity, Incident.objects.count()) == ("firing", "critical", 1)

    assert push(source, load_fixture("uptime_kuma/recovered")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="uptime_kuma")

    response = push(source, load_fixture("uptime_kuma/bad_status"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "heartbeat.status"


@pytest.mark.django_db
def test_the_sources_severity_option_applies_to_a_push(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="uptime_kuma", options={"severity": "Info"})

    assert push(source, load_fixture("uptime_kuma/firing")).status_code == 200

    assert Alert.objects.get().severity == "info"


@pytest.mark.django_db
def test_the_test_button_is_answered_without_storing_anything(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="uptime_kuma")

    response = push(source, load_fixture("uptime_kuma/test_button"))

    assert response.status_code == 200
    assert not InboundEvent.objects.exists()
    assert not Alert.objects.exists()


@pytest.mark.parametrize(
    ("options", "reason"),
    [({"severity": "High"}, "severity must be one of"), ({"colour": "red"}, "Unknown option")],
)
def test_it_refuses_bad_options(options, reason):
    with pytest.raises(ValidationError) as excinfo:
        UptimeKumaSource().clean_options(options)

    assert reason in str(excinfo.value)


def test_it_takes_its_default_options():
    source = UptimeKumaSource()

    assert source.clean_options(source.default_options()) == {"severity": "Critical"}
