from __future__ import annotations

import pytest

from integrations.sources.huawei_apm import parser as apm
from integrations.sources.huawei_apm.source import HuaweiApmSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from tests.sources.cloud_push import assert_round_trip

CHECKOUT = stable_key(
    "huawei_apm",
    [
        ("app", "checkout-api"),
        ("host", "web-prod-03"),
        ("metric", "avg_latency"),
        ("policy", "checkout-latency"),
    ],
)


def test_it_reads_the_key_value_content(load_fixture):
    (event,) = apm.parse(load_fixture("huawei_apm/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        CHECKOUT,
        EventKind.FIRING,
        Severity.CRITICAL,
        "CRITICAL",
    )
    assert event.title == "[APM] checkout-latency CRITICAL"
    assert event.description == "APM alarm: checkout-api latency above 800 ms"
    assert event.labels == {
        "policy": "checkout-latency",
        "app": "checkout-api",
        "host": "web-prod-03",
        "level": "CRITICAL",
        "status": "alarm",
        "metric": "avg_latency",
        "value": "1240 ms",
        "time": "2026-11-23 12:00:00 GMT+08:00",
    }


def test_a_resolved_status_resolves_the_same_alert(load_fixture):
    (resolved,) = apm.parse(load_fixture("huawei_apm/recovered"))

    assert (resolved.alert_key, resolved.kind) == (CHECKOUT, EventKind.RESOLVED)


@pytest.mark.parametrize(("level", "severity"), apm.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("huawei_apm/firing")
    payload["message"] = payload["message"].replace("level:CRITICAL", f"level:{level}")

    (event,) = apm.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in HuaweiApmSource.severity_table] == [
        ("CRITICAL", "critical"),
        ("COMMON", "info"),
    ]


def test_chinese_pairs_and_a_level_in_the_subject_are_read(load_fixture):
    (event,) = apm.parse(load_fixture("huawei_apm/chinese_pairs_on_one_line"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.INFO,
        "轻微",
    )
    assert event.labels == {"应用": "order-svc", "主机": "app-07", "告警策略": "order-error-rate"}
    assert event.description == "错误率 3.2%\uff0c超过 1%"  # a full-width comma
    assert event.alert_key == stable_key(
        "huawei_apm", [("主机", "app-07"), ("告警策略", "order-error-rate"), ("应用", "order-svc")]
    )


def test_a_recovered_subject_resolves_when_no_status_is_written(load_fixture):
    payload = load_fixture("huawei_apm/chinese_pairs_on_one_line")
    payload["subject"] = "[APM] 告警恢复 order-error-rate"

    (event,) = apm.parse(payload)

    assert event.kind == EventKind.RESOLVED


def test_without_identifying_pairs_the_subject_is_the_identity(load_fixture):
    payload = load_fixture("huawei_apm/firing")
    payload["message"] = "latency:1240 ms"

    (firing,) = apm.parse(payload)
    payload["subject"] = "[APM] checkout-latency CRITICAL recovered"
    payload["message"] = "latency:310 ms\nstatus:recovered"
    (resolved,) = apm.parse(payload)

    assert firing.alert_key == stable_key("huawei_apm", "[APM] checkout-latency CRITICAL")
    assert (resolved.kind, resolved.alert_key) == (EventKind.RESOLVED, firing.alert_key)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_empty_message", "message"),
        ("bad_message_array", "message"),
        ("bad_type", "type"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        apm.parse(load_fixture(f"huawei_apm/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert apm.recognises(load_fixture("huawei_apm/firing"))
    assert apm.recognises(load_fixture("huawei_apm/chinese_pairs_on_one_line"))
    assert not apm.recognises(load_fixture("huawei_ces/firing"))
    assert not apm.recognises(load_fixture("huawei_lts/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push,
        channel,
        "huawei_apm",
        load_fixture("huawei_apm/firing"),
        load_fixture("huawei_apm/recovered"),
    )
    assert alert.severity == "critical"
