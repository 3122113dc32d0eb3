from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.tencent_cls import parser as cls
from integrations.sources.tencent_cls.source import TencentClsSource
from oncall.events import EventKind, Link, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_an_alarm_as_a_firing_alert(load_fixture):
    [event] = cls.parse(load_fixture("tencent_cls/firing"))

    assert event.alert_key == "tencent_cls:alarm-7c2e41d9-5f0a-4b8e-93d1-0b6a2f1c4e77"
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "Critical",
    )
    assert event.title == "Checkout 5xx above 2%"
    assert event.description == (
        "5xx ratio of checkout is 3.41%\nCondition: $1.ratio > 2\nTrigger parameters: $1.ratio=3.41"
    )
    assert event.starts_at == datetime(2024, 11, 5, 2, 12, tzinfo=UTC)
    assert event.labels == {
        "team": "checkout",
        "env": "prod",
        "region": "ap-guangzhou",
        "topic": "nginx-access",
        "topic_id": "3f1a9b22-6c4d-4e0f-8a7b-55d0c1e2f3a4",
        "uin": "100012345678",
    }
    assert event.links == (
        Link("https://alarm.cls.tencentcs.com/AbCd1234", "Alarm details"),
        Link(
            "https://console.cloud.tencent.com/cls/search?region=ap-guangzhou&topic_id=3f1a9b22",
            "Query",
        ),
    )


def test_a_recovery_notification_resolves_the_same_alert(load_fixture):
    [firing] = cls.parse(load_fixture("tencent_cls/firing"))
    [recovered] = cls.parse(load_fixture("tencent_cls/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED


def test_a_grouped_policy_gives_one_alert_per_group(load_fixture):
    [event] = cls.parse(load_fixture("tencent_cls/grouped_warn"))

    assert event.alert_key == "tencent_cls:alarm-0a6d2b1f-2c3e-4f5a-8b9c-1d2e3f4a5b6c:f7c1e2d3a4b5"
    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)
    assert event.starts_at == datetime(2024, 11, 5, 3, 6, 40, tzinfo=UTC)
    assert event.links == ()
    assert event.description == "Condition: $1.ratio > 2\nTrigger parameters: $1.ratio=3.41"


@pytest.mark.parametrize(("level", "severity"), TencentClsSource.severity_table)
def test_it_maps_the_knowledge_base_severity_table(load_fixture, level, severity):
    payload = load_fixture("tencent_cls/firing")
    payload["level"] = level

    [event] = cls.parse(payload)

    assert event.severity == severity


def test_the_table_is_the_knowledge_bases():
    assert dict(TencentClsSource.severity_table) == {
        "Info": Severity.INFO,
        "Warn": Severity.WARNING,
        "Critical": Severity.CRITICAL,
    }


def test_repeated_notifications_share_the_key(load_fixture):
    again = load_fixture("tencent_cls/firing")
    again["notify_time_unix"] = "1730773080000"
    again["consecutive_alert_nums"] = "2"

    assert (
        cls.parse(again)[0].alert_key == cls.parse(load_fixture("tencent_cls/firing"))[0].alert_key
    )


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_notify_type", "notify_type"),
        ("bad_missing_alarm_id", "alarm_id"),
        ("bad_label_not_object", "label"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        cls.parse(load_fixture(f"tencent_cls/{case}"))

    assert error.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert cls.recognises(load_fixture("tencent_cls/firing"))
    assert not cls.recognises(load_fixture("blueking/firing"))
    assert not cls.recognises(load_fixture("alertmanager/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="tencent_cls")

    assert_fires_then_resolves(
        push, source, load_fixture("tencent_cls/firing"), load_fixture("tencent_cls/recovered")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="tencent_cls")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("volc_tls/firing"),
        "This looks like a Volcengine Log Service (TLS) payload; "
        "this source expects Tencent Cloud CLS.",
    )
