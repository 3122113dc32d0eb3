"""ManageEngine OpManager's webhook: the set-up's body through the parser, and one push."""

from __future__ import annotations

import json

import pytest

from integrations.sources.opmanager import parser as opmanager
from integrations.sources.opmanager.source import OpManagerSource
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory


def test_an_alarm_fires_keyed_by_its_alarm_id(load_fixture):
    [event] = opmanager.parse(load_fixture("opmanager/firing"))

    assert (event.alert_key, event.kind) == ("18302", EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "Critical")
    assert event.title == "Interface Gi0/1 on core-sw-01 is down"
    assert event.description == (
        "Interface Gi0/1 on core-sw-01 is down\n"
        "Last polled value: Down\n"
        "Event type: Interface Down\n"
        "Time: May 14, 2024 09:51:03 AM"
    )


def test_it_leaves_unfilled_variables_custom_and_empty_fields_out_of_the_labels(load_fixture):
    [event] = opmanager.parse(load_fixture("opmanager/firing"))

    assert event.labels == {
        "device": "core-sw-01",
        "category": "Switch",
        "entity": "IF-10.20.0.2-10101",
        "event_type": "Interface Down",
        "Intf_ifDescr": "GigabitEthernet0/1",
        "Intf_displayName": "Gi0/1-Uplink",
        "Intf_ifAlias": "uplink to dist-a",
        "Intf_ifName": "Gi0/1",
        "Intf_ipAddress": "10.20.0.2",
        "Intf_physMedia": "Ethernet",
        "Intf_ifIndex(ifIndex)": "10101",
        "Intf_ifSpeedIn(ifSpeedIn)": "1000000000",
        "Intf_ifSpeedOut(ifSpeedOut)": "1000000000",
        "Device_type": "Cisco 3850",
        "Device_ipAddress": "10.20.0.2",
        "Device_isSNMP": "true",
        "Device_dependent": "None",
    }


def test_clear_resolves_the_same_alarm(load_fixture):
    [event] = opmanager.parse(load_fixture("opmanager/recovered"))

    assert (event.alert_key, event.kind) == ("18302", EventKind.RESOLVED)


@pytest.mark.parametrize(("word", "severity"), OpManagerSource.severity_table)
def test_it_maps_each_row_of_the_knowledge_base_table(word, severity, load_fixture):
    payload = load_fixture("opmanager/firing")
    payload["severity"] = word

    [event] = opmanager.parse(payload)

    assert (event.severity, event.kind) == (severity, EventKind.FIRING)


def test_the_table_is_the_knowledge_bases():
    assert dict(OpManagerSource.severity_table) == {
        "Critical": Severity.CRITICAL,
        "Service Down": Severity.CRITICAL,
        "Trouble": Severity.WARNING,
        "Attention": Severity.INFO,
    }


def test_a_monitor_alarm_reads_its_monitor_fields(load_fixture):
    [event] = opmanager.parse(load_fixture("opmanager/monitor_trouble"))

    assert (event.alert_key, event.severity) == ("18377", Severity.WARNING)
    assert event.labels["Monitor_monitorName"] == "CPU Utilization"
    assert "Intf_ifName" not in event.labels
    assert "Monitor_instance" not in event.labels


def test_the_body_template_is_json_that_the_parser_recognises():
    body = json.loads(opmanager.BODY_TEMPLATE)

    assert opmanager.recognises(body)
    assert body["severity"] == "$stringseverity"


BAD_CASES = {
    "bad_alarmid_unfilled": ("alarmid", "alarmid is OpManager's unfilled '$alarmid'"),
    "bad_no_alarmid": ("alarmid", "alarmid is required"),
    "bad_device_field_object": ("Device_type", "Device_type must be a string, not an object"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        opmanager.parse(load_fixture(f"opmanager/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("opmanager", "bad_") == sorted(BAD_CASES)


def test_it_recognises_its_body_only(load_fixture):
    assert opmanager.recognises(load_fixture("opmanager/firing"))
    assert not opmanager.recognises(load_fixture("graylog/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_clear_resolves_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="opmanager")

    assert push(source, load_fixture("opmanager/firing")).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, Incident.objects.count()) == ("firing", 1)

    assert push(source, load_fixture("opmanager/recovered")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="opmanager")

    response = push(source, load_fixture("opmanager/bad_no_alarmid"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "alarmid"
