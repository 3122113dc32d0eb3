"""Graylog's HTTP notification: events through the parser, and one push."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.graylog import parser as graylog
from integrations.sources.graylog.source import GraylogSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory

KEY = stable_key("graylog", "6643a0c2e1b9f25e3c2a7d10", "203.0.113.7")


def test_an_event_fires_keyed_by_definition_and_group(load_fixture):
    [event] = graylog.parse(load_fixture("graylog/firing"))

    assert (event.alert_key, event.kind) == (KEY, EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "3")
    assert event.title == "Failed SSH logins"
    assert event.description == (
        "Failed SSH logins: count()=14.0\n\n"
        "More than 10 failed SSH logins from one address in 5 minutes.\n\n"
        "2 message(s) in the backlog."
    )
    assert event.labels == {
        "source_ip": "203.0.113.7",
        "attempts": "14",
        "source": "graylog-01",
        "event_definition_type": "aggregation-v1",
    }
    assert event.starts_at == datetime(2024, 5, 14, 9, 51, 3, 157000, tzinfo=UTC)


def test_the_next_event_of_the_group_merges_into_the_same_alert(load_fixture):
    [event] = graylog.parse(load_fixture("graylog/repeat_same_key"))

    assert (event.alert_key, event.kind, event.severity) == (
        KEY,
        EventKind.FIRING,
        Severity.WARNING,
    )


@pytest.mark.parametrize(
    ("priority", "severity"),
    [*GraylogSource.severity_table, ("4", Severity.CRITICAL), ("9", Severity.WARNING)],
)
def test_it_maps_priority_by_the_knowledge_base_table(priority, severity, load_fixture):
    payload = load_fixture("graylog/firing")
    payload["event"]["priority"] = int(priority)

    [event] = graylog.parse(payload)

    assert event.severity == severity


def test_the_table_is_three_two_one():
    assert dict(GraylogSource.severity_table) == {
        "3": Severity.CRITICAL,
        "2": Severity.WARNING,
        "1": Severity.INFO,
    }


def test_an_ungrouped_event_without_title_uses_its_message(load_fixture):
    [event] = graylog.parse(load_fixture("graylog/ungrouped_no_backlog"))

    assert event.alert_key == stable_key("graylog", "6643a0c2e1b9f25e3c2a7d10", "")
    assert event.title == "Disk errors in kernel log"
    assert event.severity == Severity.INFO
    assert "backlog" not in event.description


BAD_CASES = {
    "bad_priority_object": ("event.priority", "event.priority must be a number, not an object"),
    "bad_no_definition_id": ("event_definition_id", "event_definition_id is required"),
    "bad_event_not_object": ("event", "event must be a JSON object, not a string"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        graylog.parse(load_fixture(f"graylog/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("graylog", "bad_") == sorted(BAD_CASES)


def test_it_recognises_its_notifications_only(load_fixture):
    assert graylog.recognises(load_fixture("graylog/firing"))
    assert not graylog.recognises(load_fixture("skywalking/firing"))


@pytest.mark.django_db
def test_pushes_open_one_incident_and_repeats_merge_into_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="graylog")

    assert push(source, load_fixture("graylog/firing")).status_code == 200
    assert push(source, load_fixture("graylog/repeat_same_key")).status_code == 200

    alert = Alert.objects.get()
    assert (alert.alert_key, alert.status, Incident.objects.count()) == (KEY, "firing", 1)


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="graylog")

    response = push(source, load_fixture("graylog/bad_event_not_object"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "event"
