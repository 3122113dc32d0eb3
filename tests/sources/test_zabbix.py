"""Zabbix's webhook media type: the script's body through the parser, one push, the script."""

from __future__ import annotations

import pytest

from integrations.sources.zabbix import parser as zabbix
from integrations.sources.zabbix.source import ZabbixSource, media_type_script
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory


def test_it_fires_a_problem_keyed_by_its_event_id(load_fixture):
    [event] = zabbix.parse(load_fixture("zabbix/firing"))

    assert (event.alert_key, event.kind) == ("81532", EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "High")
    assert event.title == "High CPU utilization (over 90% for 5m)"
    assert event.description.startswith("Problem started at 09:51:03 on 2024.05.14\n")
    assert event.description.endswith("\n\nOperational data: Current utilization: 96.3 %")
    assert event.labels == {
        "class": "os",
        "component": "cpu",
        "scope": "performance",
        "team": "platform",
        "host": "app-07.prod",
        "host_ip": "10.20.3.17",
        "trigger_id": "23418",
    }
    assert event.links == (
        Link("https://zabbix.example.org/tr_events.php?triggerid=23418&eventid=81532", "Zabbix"),
    )


def test_a_recovery_resolves_the_problem(load_fixture):
    [event] = zabbix.parse(load_fixture("zabbix/recovered"))

    assert (event.alert_key, event.kind) == ("81532", EventKind.RESOLVED)


def test_an_update_fires_again_with_the_new_severity(load_fixture):
    [event] = zabbix.parse(load_fixture("zabbix/update_severity_changed"))

    assert (event.alert_key, event.kind) == ("81532", EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "Disaster")


@pytest.mark.parametrize(("name", "severity"), ZabbixSource.severity_table)
def test_it_maps_each_row_of_the_severity_table(name, severity, load_fixture):
    payload = load_fixture("zabbix/firing")
    payload.update(event_severity=name, event_nseverity="")

    [event] = zabbix.parse(payload)

    assert event.severity == severity


def test_the_severity_table_is_the_knowledge_bases():
    assert dict(ZabbixSource.severity_table) == {
        "Disaster": Severity.CRITICAL,
        "High": Severity.CRITICAL,
        "Average": Severity.WARNING,
        "Warning": Severity.WARNING,
        "Information": Severity.INFO,
        "Not classified": Severity.INFO,
    }


@pytest.mark.parametrize(
    ("number", "severity"),
    [
        ("5", Severity.CRITICAL),
        ("4", Severity.CRITICAL),
        ("3", Severity.WARNING),
        ("2", Severity.WARNING),
        ("1", Severity.INFO),
        ("0", Severity.INFO),
        ("", Severity.WARNING),
    ],
)
def test_a_renamed_severity_falls_back_to_its_number(number, severity, load_fixture):
    payload = load_fixture("zabbix/renamed_severity")
    payload["event_nseverity"] = number

    [event] = zabbix.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, "严重")


def test_it_reads_a_sparse_event_with_numeric_ids(load_fixture):
    [event] = zabbix.parse(load_fixture("zabbix/renamed_severity"))

    assert event.alert_key == "90001"
    assert event.title == "问题: /data 可用空间低于 10%"
    assert event.description == "磁盘空间不足"
    assert event.labels == {"host": "数据库-01", "trigger_id": "31002"}
    assert event.links == ()


BAD_CASES = {
    "bad_not_an_object": (None, "the payload must be a JSON object, not an array"),
    "bad_event_value": ("event_value", "event_value must be 1 (problem) or 0 (recovery), not '2'"),
    "bad_event_id_empty": ("event_id", "event_id must not be empty"),
    "bad_tags_not_array": ("event_tags", "event_tags must be an array, not a string"),
    "bad_tag_without_name": ("event_tags[0].tag", "event_tags[0].tag is required"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        zabbix.parse(load_fixture(f"zabbix/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("zabbix", "bad_") == sorted(BAD_CASES)


def test_it_recognises_the_scripts_body_only(load_fixture):
    assert zabbix.recognises(load_fixture("zabbix/firing"))
    assert not zabbix.recognises(load_fixture("n9e/firing"))
    assert not zabbix.recognises(None)


def test_the_script_sends_every_parameter_the_guide_lists():
    script = media_type_script()

    for name, _value in zabbix.MEDIA_TYPE_PARAMETERS:
        assert f"params.{name}" in script


def test_the_guide_shows_the_parameters_with_the_push_url_and_the_script():
    guide = ZabbixSource().setup_guide("https://oncall.example.org/push/T0KEN")

    parameters, script = guide.snippets
    assert "URL = https://oncall.example.org/push/T0KEN" in parameters.text
    assert "event_id = {EVENT.ID}" in parameters.text
    assert script.text == media_type_script()
    assert any("https://oncall.example.org/push/T0KEN" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="zabbix")

    assert push(source, load_fixture("zabbix/firing")).status_code == 200
    assert push(source, load_fixture("zabbix/update_severity_changed")).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, Incident.objects.count()) == ("firing", 1)

    assert push(source, load_fixture("zabbix/recovered")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="zabbix")

    response = push(source, load_fixture("zabbix/bad_event_value"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "event_value"
