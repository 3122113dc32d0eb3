from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.zstack import parser as zstack
from integrations.sources.zstack.source import ZStackSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import InboundEvent
from tests.factories import AlertSourceFactory
from tests.sources.cloud_push import assert_round_trip

VM = "0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"


def test_it_reads_a_resource_alarm(load_fixture):
    (event,) = zstack.parse(load_fixture("zstack/firing"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "Emergent",
    )
    assert event.alert_key == stable_key("zstack", "alarm", "5b1e2f3a4c5d46e7a8b9c0d1e2f3a4b5", VM)
    assert event.title == "vm-cpu-high - web-prod-03"
    assert event.description == (
        "CPUAverageUsedUtilization: 93.5 (alarm when GreaterThanOrEqualTo 85.0)\n"
        "ALARM: vm-cpu-high on web-prod-03"
    )
    assert event.labels == {
        "HostUuid": "f1e2d3c4b5a64798a1b2c3d4e5f60718",
        "zone": "zone-hz-1",
        "namespace": "ZStack/VM",
        "metricName": "CPUAverageUsedUtilization",
        "resourceUuid": VM,
        "resourceName": "web-prod-03",
        "resourceType": "VmInstanceVO",
    }
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_ok_resolves_the_same_alert(load_fixture):
    (firing,) = zstack.parse(load_fixture("zstack/firing"))
    (ok,) = zstack.parse(load_fixture("zstack/recovered"))

    assert (ok.kind, ok.alert_key) == (EventKind.RESOLVED, firing.alert_key)
    assert ok.ends_at == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(("level", "severity"), zstack.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("zstack/firing")
    payload["emergencyLevel"] = level

    (event,) = zstack.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


@pytest.mark.parametrize(
    ("word", "severity"), [("Important", Severity.WARNING), ("Normal", Severity.INFO)]
)
def test_zstacks_api_words_are_the_same_levels(load_fixture, word, severity):
    payload = load_fixture("zstack/firing")
    payload["emergencyLevel"] = word

    (event,) = zstack.parse(payload)

    assert event.severity == severity


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in ZStackSource.severity_table] == [
        ("Emergent", "critical"),
        ("Major", "warning"),
        ("Info", "info"),
    ]


def test_an_event_alarm_fires_keyed_by_its_subscription_and_event(load_fixture):
    (event,) = zstack.parse(load_fixture("zstack/event_alarm"))

    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)
    assert event.alert_key == stable_key(
        "zstack", "event", "9e8d7c6b5a4f43e2b1a0c9d8e7f6a5b4", "VMStateChangedOnHost", VM
    )
    assert event.title == "VMStateChangedOnHost - web-prod-03"
    assert event.labels["NewState"] == "Stopped"
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_status", "alarmStatus"),
        ("bad_no_alarm", "alarmUuid"),
        ("bad_labels", "labels"),
        ("bad_label_without_key", "labels[0]"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        zstack.parse(load_fixture(f"zstack/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert zstack.recognises(load_fixture("zstack/firing"))
    assert zstack.recognises(load_fixture("zstack/event_alarm"))
    assert not zstack.recognises(load_fixture("guance/firing"))
    assert not zstack.recognises(load_fixture("baidu_bcm/firing"))


def test_only_a_body_without_alarm_fields_is_a_test_message(load_fixture):
    assert zstack.is_test_message({"message": "This is a test message from ZStack"})
    assert not zstack.is_test_message({"alarmName": "test", "message": "test"})
    assert not zstack.is_test_message({"message": "hello"})
    assert not zstack.is_test_message(load_fixture("zstack/firing"))


@pytest.mark.django_db
class TestPush:
    def test_an_alarm_opens_an_incident_and_ok_resolves_it(self, push, channel, load_fixture):
        alert = assert_round_trip(
            push, channel, "zstack", load_fixture("zstack/firing"), load_fixture("zstack/recovered")
        )
        assert alert.severity == "critical"

    def test_the_test_message_is_answered_without_storing(self, push, channel):
        source = AlertSourceFactory(channel=channel, kind="zstack")

        response = push(source, {"message": "This is a test message"})

        assert (response.status_code, response.json()) == (200, {"test": "received"})
        assert not InboundEvent.objects.exists()
