"""Apache SkyWalking: alarm and recovery messages through the parser, and one push."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.skywalking import parser as skywalking
from integrations.sources.skywalking.source import SkyWalkingSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory

SERVICE_KEY = stable_key(
    "skywalking", "SERVICE", "b3JkZXItc2VydmljZQ==.1", "", "service_resp_time_rule"
)


def test_it_fires_one_event_per_alarm_message(load_fixture):
    service, endpoint = skywalking.parse(load_fixture("skywalking/firing"))

    assert (service.alert_key, service.kind) == (SERVICE_KEY, EventKind.FIRING)
    assert service.title.startswith("Response time of service order-service is more than 1000ms")
    assert (service.severity, service.raw_severity) == (Severity.CRITICAL, "Critical")
    assert service.labels == {
        "level": "Critical",
        "team": "orders",
        "scope": "SERVICE",
        "name": "order-service",
        "rule_name": "service_resp_time_rule",
    }
    assert service.description.endswith("\nSERVICE: order-service")
    assert service.starts_at == datetime(2024, 5, 14, 9, 51, 3, 157000, tzinfo=UTC)
    assert (endpoint.severity, endpoint.raw_severity) == (Severity.WARNING, "WARNING")
    assert endpoint.alert_key != service.alert_key


def test_a_recovery_message_resolves_the_same_alert(load_fixture):
    [event] = skywalking.parse(load_fixture("skywalking/recovered"))

    assert (event.alert_key, event.kind) == (SERVICE_KEY, EventKind.RESOLVED)
    assert event.ends_at == datetime(2024, 5, 14, 10, 6, 3, tzinfo=UTC)


def test_a_repeat_with_a_new_uuid_keeps_the_key(load_fixture):
    payload = load_fixture("skywalking/firing")
    payload[0].update(uuid="another", startTime=1715681000000)

    assert skywalking.parse(payload)[0].alert_key == SERVICE_KEY


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        ("Critical", Severity.CRITICAL),
        ("Warning", Severity.WARNING),
        ("Info", Severity.INFO),
        ("P1", Severity.INFO),
        ("", Severity.INFO),
    ],
)
def test_it_maps_the_level_tag_by_the_knowledge_base_table(level, severity, load_fixture):
    payload = load_fixture("skywalking/firing")
    payload[0]["tags"] = [{"key": "level", "value": level}]

    assert skywalking.parse(payload)[0].severity == severity


def test_the_declared_table_ends_with_others_as_info():
    assert list(SkyWalkingSource.severity_table) == [
        ("Critical", Severity.CRITICAL),
        ("Warning", Severity.WARNING),
        ("Info", Severity.INFO),
        ("other or none", Severity.INFO),
    ]


def test_an_old_relation_alarm_without_tags_is_info(load_fixture):
    [event] = skywalking.parse(load_fixture("skywalking/v8_relation_no_tags"))

    assert event.alert_key == stable_key(
        "skywalking",
        "SERVICE_RELATION",
        "Z2F0ZXdheQ==.1",
        "b3JkZXItc2VydmljZQ==.1",
        "service_relation_resp_time_rule",
    )
    assert (event.severity, event.raw_severity) == (Severity.INFO, "")
    assert event.labels["name"] == "gateway to order-service"


def test_a_single_message_object_is_read_too(load_fixture):
    [event] = skywalking.parse(load_fixture("skywalking/firing")[0])

    assert event.alert_key == SERVICE_KEY


BAD_CASES = {
    "bad_empty": (None, "the array of alarm messages is empty"),
    "bad_tags_not_array": ("[1].tags", "[1].tags must be an array, not an object"),
    "bad_rule_name_empty": ("[0].ruleName", "[0].ruleName must not be empty"),
    "bad_start_time": ("[0].startTime", "[0].startTime must be a Unix time in ms"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        skywalking.parse(load_fixture(f"skywalking/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("skywalking", "bad_") == sorted(BAD_CASES)


def test_a_string_payload_is_refused():
    with pytest.raises(PayloadError) as excinfo:
        skywalking.parse("alarm")

    assert "must be a JSON array of alarm messages, not a string" in excinfo.value.message


def test_it_recognises_alarm_messages_only(load_fixture):
    assert skywalking.recognises(load_fixture("skywalking/firing"))
    assert not skywalking.recognises(load_fixture("n9e/batch"))
    assert not skywalking.recognises([])


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="skywalking")

    assert push(source, load_fixture("skywalking/firing")).status_code == 200
    assert Alert.objects.filter(status="firing").count() == 2
    assert Incident.objects.exists()

    assert push(source, load_fixture("skywalking/recovered")).status_code == 200
    assert Alert.objects.get(alert_key=SERVICE_KEY).status == "resolved"


@pytest.mark.django_db
def test_another_kinds_payload_gets_a_400_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="skywalking")

    response = push(source, load_fixture("zabbix/firing"))

    assert response.status_code == 400
    assert (
        "This looks like a Zabbix payload; this source expects Apache SkyWalking."
        in (response.json()["error"]["message"])
    )
