"""InfluxDB: 2.x endpoint statuses and 1.x Kapacitor alerts through the parser, and one push."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.influxdb import parser as influxdb
from integrations.sources.influxdb.source import InfluxDBSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory

V2_KEY = stable_key("influxdb2", "0c7f3e1a9b2d4e01", [("cpu", "cpu-total"), ("host", "web-01")])


def test_a_v2_status_fires_keyed_by_check_and_series(load_fixture):
    [event] = influxdb.parse(load_fixture("influxdb/firing"))

    assert (event.alert_key, event.kind) == (V2_KEY, EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "crit")
    assert event.title == "CPU idle on web-01 is 2.5%"
    assert event.description == "CPU idle on web-01 is 2.5%\nValues: usage_idle=2.5"
    assert event.labels == {
        "cpu": "cpu-total",
        "host": "web-01",
        "check": "CPU idle",
        "measurement": "cpu",
    }
    assert event.starts_at == datetime(2024, 5, 14, 9, 51, 3, tzinfo=UTC)


def test_a_v2_ok_resolves_the_same_alert(load_fixture):
    [event] = influxdb.parse(load_fixture("influxdb/recovered"))

    assert (event.alert_key, event.kind) == (V2_KEY, EventKind.RESOLVED)
    assert event.ends_at == datetime(2024, 5, 14, 10, 6, 3, tzinfo=UTC)


def test_a_kapacitor_alert_fires_keyed_by_its_id(load_fixture):
    [event] = influxdb.parse(load_fixture("influxdb/kapacitor_warning"))

    assert (event.alert_key, event.kind) == ("cpu_usage:host=db-01", EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.WARNING, "WARNING")
    assert event.title == "cpu_usage:host=db-01 is WARNING: usage_user=83.2"
    assert event.labels == {"host": "db-01", "cpu": "cpu-total", "measurement": "cpu"}


def test_a_kapacitor_ok_resolves_it(load_fixture):
    [event] = influxdb.parse(load_fixture("influxdb/kapacitor_ok"))

    assert (event.alert_key, event.kind) == ("cpu_usage:host=db-01", EventKind.RESOLVED)


@pytest.mark.parametrize(
    ("level", "severity"),
    [*InfluxDBSource.severity_table, ("unknow", Severity.INFO)],
)
def test_kapacitor_levels_follow_the_knowledge_base_table(level, severity, load_fixture):
    payload = load_fixture("influxdb/kapacitor_warning")
    payload["level"] = level

    [event] = influxdb.parse(payload)

    assert event.severity == severity


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("crit", Severity.CRITICAL),
        ("warn", Severity.WARNING),
        ("info", Severity.INFO),
        ("unknown", Severity.INFO),
    ],
)
def test_v2_levels_read_as_the_same_table(level, severity, load_fixture):
    payload = load_fixture("influxdb/firing")
    payload["_level"] = level

    [event] = influxdb.parse(payload)

    assert event.severity == severity


def test_the_table_is_the_knowledge_bases():
    assert dict(InfluxDBSource.severity_table) == {
        "CRITICAL": Severity.CRITICAL,
        "WARNING": Severity.WARNING,
        "INFO": Severity.INFO,
        "unknown": Severity.INFO,
    }


BAD_CASES = {
    "bad_level_number": ("_level", "_level must be a string, not a number"),
    "bad_kapacitor_series_entry": ("data.series[0]", "data.series[0] must be a JSON object"),
    "bad_neither_shape": ("_check_id", "neither an InfluxDB 2 notification"),
    "bad_time": ("_time", "_time is not an ISO-8601"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        influxdb.parse(load_fixture(f"influxdb/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("influxdb", "bad_") == sorted(BAD_CASES)


def test_it_recognises_both_shapes_only(load_fixture):
    assert influxdb.recognises(load_fixture("influxdb/firing"))
    assert influxdb.recognises(load_fixture("influxdb/kapacitor_ok"))
    assert not influxdb.recognises(load_fixture("opmanager/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_ok_resolves_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="influxdb")

    assert push(source, load_fixture("influxdb/firing")).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, Incident.objects.count()) == ("firing", 1)

    assert push(source, load_fixture("influxdb/recovered")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="influxdb")

    response = push(source, load_fixture("influxdb/bad_level_number"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "_level"
