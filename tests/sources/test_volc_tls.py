from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.volc_tls import parser as tls
from integrations.sources.volc_tls.source import VolcTlsSource
from oncall.events import EventKind, Link, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_an_alarm_as_a_firing_alert(load_fixture):
    [event] = tls.parse(load_fixture("volc_tls/firing"))

    assert event.alert_key == "volc_tls:6b0e4d2a-91c7-4f3e-b8a5-0c2d7e9f1a34"
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "critical",
    )
    assert event.title == "Gateway 502 burst"
    assert event.description == (
        'Condition: $1.cnt > 100\nTrigger parameters: {"$1.cnt":418}\nResults: 1'
    )
    assert event.starts_at == datetime(2024, 12, 3, 6, 0, tzinfo=UTC)
    assert event.labels == {
        "ProjectName": "shop-logs",
        "AlarmTopicName": "gateway-access",
        "Topics": "gateway-access",
        "Region": "cn-beijing",
        "AccountID": "2100123456",
    }
    assert event.links == (
        Link("https://console.volcengine.com/tls/alarm/history?AlarmId=6b0e4d2a", "Alarm details"),
    )


def test_a_recovery_resolves_the_same_alert(load_fixture):
    [firing] = tls.parse(load_fixture("volc_tls/firing"))
    [recovered] = tls.parse(load_fixture("volc_tls/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED
    assert recovered.starts_at is None


def test_an_untitled_policy_with_numbers_is_read(load_fixture):
    [event] = tls.parse(load_fixture("volc_tls/untitled_info"))

    assert (event.title, event.severity, event.kind) == (
        "TLS alarm",
        Severity.INFO,
        EventKind.FIRING,
    )
    assert event.links == ()
    assert event.labels["Topics"] == "app-log,worker-log"
    assert event.description == "Condition: $1.cnt > 100\nResults: 1"


@pytest.mark.parametrize(("level", "severity"), VolcTlsSource.severity_table)
def test_it_maps_the_knowledge_base_severity_table(load_fixture, level, severity):
    payload = load_fixture("volc_tls/firing")
    payload["Severity"] = level.capitalize()

    [event] = tls.parse(payload)

    assert event.severity == severity


def test_repeated_notifications_share_the_key(load_fixture):
    again = load_fixture("volc_tls/firing")
    again["ConsecutiveAlertNums"] = "3"
    again["NotifyTimeUnix"] = "1733205900"

    assert tls.parse(again)[0].alert_key == tls.parse(load_fixture("volc_tls/firing"))[0].alert_key


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_notify_type", "NotifyType"),
        ("bad_empty_alarm_id", "AlarmID"),
        ("bad_notify_time", "NotifyTimeUnix"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        tls.parse(load_fixture(f"volc_tls/{case}"))

    assert error.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert tls.recognises(load_fixture("volc_tls/untitled_info"))
    assert not tls.recognises(load_fixture("tencent_cls/firing"))
    assert not tls.recognises(load_fixture("volc_cm_metric/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_tls")

    assert_fires_then_resolves(
        push, source, load_fixture("volc_tls/firing"), load_fixture("volc_tls/recovered")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_tls")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("tencent_cls/firing"),
        "This looks like a Tencent Cloud CLS payload; "
        "this source expects Volcengine Log Service (TLS).",
    )
