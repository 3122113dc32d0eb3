from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import responses

from integrations.sources.huawei_ces import parser as ces
from integrations.sources.huawei_ces.source import HuaweiCesSource
from oncall.events import EventKind, Link, PayloadError, Severity, stable_key
from oncall.models import InboundEvent
from tests.factories import AlertSourceFactory
from tests.sources.cloud_push import assert_round_trip

RESOURCE = "6f1a0c2e-9b7d-4e3f-a1c5-2d8e7b6a9f01"
SUBSCRIBE = (
    "https://smn.cn-north-4.myhuaweicloud.com/smn/subscription/confirm?"
    "token=7c6b5a49&topic_urn=urn:smn:cn-north-4:0a1b2c3d:flashduty"
)


def confirmation(url: str = SUBSCRIBE, kind: str = "SubscriptionConfirmation") -> dict:
    return {
        "type": kind,
        "topic_urn": "urn:smn:cn-north-4:0a1b2c3d:flashduty",
        "message_id": "def5c309cbff44d5a870787ed937edf8",
        "message": "You are invited to subscribe to topic flashduty.",
        "subscribe_url": url,
        "signature_version": "v1",
        "timestamp": "2026-11-23T03:58:00Z",
    }


def test_it_reads_an_alarm_in_its_smn_envelope(load_fixture):
    (event,) = ces.parse(load_fixture("huawei_ces/firing"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "Major",
    )
    assert event.alert_key == stable_key("huawei_ces", "ecs-cpu-high", RESOURCE, "CPU Usage")
    assert event.title == "ecs-cpu-high - web-prod-03"
    assert event.description == ("CPU Usage: 93.10%\nCondition: Average >= 80%, 3 time(s) in a row")
    assert event.labels == {
        "Namespace": "Elastic Cloud Server",
        "DimensionName": "ECS",
        "ResourceName": "web-prod-03",
        "ResourceId": RESOURCE,
        "MetricName": "CPU Usage",
        "AlarmRuleName": "ecs-cpu-high",
        "Region": "CN North-Beijing4",
        "RegionId": "cn-north-4",
        "PrivateIp": "192.168.0.12",
        "EpName": "default",
        "AccountName": "acme-ops",
    }
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_is_alarm_false_resolves_the_same_alert(load_fixture):
    (firing,) = ces.parse(load_fixture("huawei_ces/firing"))
    (cleared,) = ces.parse(load_fixture("huawei_ces/recovered"))

    assert (cleared.kind, cleared.alert_key) == (EventKind.RESOLVED, firing.alert_key)


def test_the_preview_s_broken_escape_of_the_operator_is_mended(load_fixture):
    payload = load_fixture("huawei_ces/firing")
    message = json.loads(payload["message"])
    message["data"]["ComparisonOperator"] = "u003e="
    payload["message"] = json.dumps(message)

    (event,) = ces.parse(payload)

    assert "Condition: Average >= 80%" in event.description


def set_level(payload: dict, level: str) -> dict:
    message = json.loads(payload["message"])
    message["data"]["AlarmLevel"] = level
    payload["message"] = json.dumps(message)
    return payload


@pytest.mark.parametrize(("level", "severity"), ces.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    (event,) = ces.parse(set_level(load_fixture("huawei_ces/firing"), level))

    assert (event.severity, event.raw_severity) == (severity, level)


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("紧急", Severity.CRITICAL),
        ("重要", Severity.CRITICAL),
        ("次要", Severity.WARNING),
        ("提示", Severity.INFO),
    ],
)
def test_the_chinese_consoles_levels_are_the_same(load_fixture, word, severity):
    (event,) = ces.parse(set_level(load_fixture("huawei_ces/firing"), word))

    assert event.severity == severity


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in HuaweiCesSource.severity_table] == [
        ("Critical", "critical"),
        ("Major", "critical"),
        ("Minor", "warning"),
        ("Info", "info"),
    ]


def test_the_older_template_variable_shape_is_read(load_fixture):
    (event,) = ces.parse(load_fixture("huawei_ces/legacy_template_variable"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "紧急",
    )
    assert event.alert_key == stable_key(
        "huawei_ces", "al1795406000123AbCdEfGhI", "9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f", "CPU Usage"
    )
    assert event.title == "rds-cpu-high - rds-orders"
    assert event.description == "CPU Usage: 97.00%\nRule: Max >= 95% for 1 period of 5 minutes"
    assert event.links == (
        Link(
            "https://console.huaweicloud.com/ces/?region=cn-north-4#/alarms/detail"
            "?alarmId=al1795406000123AbCdEfGhI",
            "Cloud Eye",
        ),
    )
    assert event.labels["dimension"] == "rds_cluster_id:9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f"
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_a_bare_body_with_a_numbered_level_is_read(load_fixture):
    (event,) = ces.parse(load_fixture("huawei_ces/bare_insufficient_data"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.WARNING,
        "3",
    )
    assert event.alert_key == stable_key(
        "huawei_ces",
        "al1795406000999ZyXwVuTs",
        "rds_cluster_id:9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f",
        "rds039_disk_util",
    )
    assert event.title == "rds-disk-usage"
    assert event.description == "rds-disk-usage: no data for 3 periods on rds-orders"


def test_a_cleared_status_without_is_alarm_resolves(load_fixture):
    payload = load_fixture("huawei_ces/bare_insufficient_data")
    payload["alarm_status"] = "ok"

    (event,) = ces.parse(payload)

    assert event.kind == EventKind.RESOLVED


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_message_text", "message"),
        ("bad_message_broken_json", "message"),
        ("bad_status", "alarm_status"),
        ("bad_no_rule", "data.AlarmRuleName"),
        ("bad_data_not_object", "data"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        ces.parse(load_fixture(f"huawei_ces/{case}"))
    assert refused.value.field == field


def test_a_confirmation_is_not_an_alarm():
    with pytest.raises(PayloadError) as refused:
        ces.parse(confirmation())
    assert refused.value.field == "type"


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert ces.recognises(load_fixture("huawei_ces/firing"))
    assert ces.recognises(load_fixture("huawei_ces/bare_insufficient_data"))
    assert ces.recognises(load_fixture("huawei_ces/legacy_template_variable"))
    assert not ces.recognises(confirmation())
    assert not ces.recognises(load_fixture("aliyun_cms_event/firing"))


@pytest.mark.django_db
class TestPush:
    def test_an_alarm_opens_an_incident_and_its_clearing_resolves_it(
        self, push, channel, load_fixture
    ):
        alert = assert_round_trip(
            push,
            channel,
            "huawei_ces",
            load_fixture("huawei_ces/firing"),
            load_fixture("huawei_ces/recovered"),
        )
        assert alert.severity == "critical"

    @responses.activate
    def test_the_subscription_is_confirmed_and_nothing_stored(self, push, channel):
        responses.get(SUBSCRIBE, json={"request_id": "x"})
        source = AlertSourceFactory(channel=channel, kind="huawei_ces")

        response = push(source, confirmation())

        assert (response.status_code, response.json()) == (200, {"confirmed": True})
        assert [call.request.url for call in responses.calls] == [SUBSCRIBE]
        assert not InboundEvent.objects.exists()

    @responses.activate
    def test_a_subscribe_url_elsewhere_is_not_fetched(self, push, channel):
        source = AlertSourceFactory(channel=channel, kind="huawei_ces")

        response = push(source, confirmation("https://attacker.example.com/x"))

        assert response.status_code == 400
        assert response.json()["error"]["field"] == "subscribe_url"
        assert len(responses.calls) == 0

    @responses.activate
    def test_a_failed_confirmation_is_a_502_so_that_smn_tries_again(self, push, channel):
        responses.get(SUBSCRIBE, status=500)
        source = AlertSourceFactory(channel=channel, kind="huawei_ces")

        response = push(source, confirmation())

        assert response.status_code == 502
        assert not InboundEvent.objects.exists()

    def test_an_unsubscription_is_acknowledged(self, push, channel):
        source = AlertSourceFactory(channel=channel, kind="huawei_ces")

        response = push(source, confirmation(kind="UnsubscribeConfirmation"))

        assert (response.status_code, response.json()) == (200, {"unsubscribed": True})
