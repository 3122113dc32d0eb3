from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.aliyun_arms import parser as arms
from integrations.sources.aliyun_arms.source import AliyunArmsSource
from oncall.events import EventKind, Link, PayloadError, Severity
from tests.sources.cloud_push import assert_round_trip


def test_it_reads_a_firing_alert(load_fixture):
    (event,) = arms.parse(load_fixture("aliyun_arms/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "5e1c0a7d93b04f21",
        EventKind.FIRING,
        Severity.CRITICAL,
        "P1",
    )
    assert event.title == "Pod memory above 80%"
    assert event.description == (
        "Namespace checkout / Pod checkout-api-7c9d6b5f4-x2kqp: memory usage is 91.4%"
        "\n\nValue: 91.4"
    )
    assert event.starts_at == datetime(2026, 11, 20, 3, 14, 7, 512000, tzinfo=UTC)
    assert event.ends_at is None
    assert event.links == (
        Link("https://arms.console.aliyun.com/#/alarm/rule/2207", "Source"),
        Link("https://wiki.example.com/runbooks/pod-memory", "Runbook"),
        Link("https://arms.console.aliyun.com/#/alarm/history?regionId=cn-hangzhou", "ARMS"),
    )


def test_it_keeps_the_changing_values_out_of_the_labels(load_fixture):
    (event,) = arms.parse(load_fixture("aliyun_arms/firing"))

    assert event.labels["namespace"] == "checkout"
    assert event.labels["_aliyun_arms_region_id"] == "cn-hangzhou"
    assert not {"value", "_aliyun_arms_alert_now_value", "_aliyun_arms_alert_past_value"} & set(
        event.labels
    )


def test_a_resolved_alert_keeps_its_key_and_ends(load_fixture):
    (firing,) = arms.parse(load_fixture("aliyun_arms/firing"))
    (resolved,) = arms.parse(load_fixture("aliyun_arms/recovered"))

    assert resolved.kind == EventKind.RESOLVED
    assert resolved.alert_key == firing.alert_key
    assert resolved.ends_at == datetime(2026, 11, 20, 3, 41, 37, tzinfo=UTC)


@pytest.mark.parametrize(("level", "severity"), arms.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("aliyun_arms/firing")
    payload["alerts"][0]["labels"]["_aliyun_arms_alert_level"] = level

    (event,) = arms.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


def test_the_table_is_the_knowledge_bases():
    assert [(word, str(severity)) for word, severity in AliyunArmsSource.severity_table] == [
        ("P1", "critical"),
        ("P2", "warning"),
        ("P3", "warning"),
        ("P4", "info"),
    ]


def test_older_word_levels_and_missing_annotations_are_read(load_fixture):
    gc, slow_sql, errors = arms.parse(load_fixture("aliyun_arms/batch_mixed_levels"))

    assert (gc.severity, gc.raw_severity, gc.title) == (
        Severity.CRITICAL,
        "ERROR",
        "order-svc ran 7 full GCs in 5 minutes",
    )
    assert gc.description == "Value: 7"
    assert (slow_sql.severity, slow_sql.title, slow_sql.description) == (
        Severity.INFO,
        "Slow SQL share above 5%",
        "",
    )
    assert (errors.severity, errors.description) == (Severity.WARNING, "3.2% of calls failed")


def test_without_any_level_it_reads_the_severity_label(load_fixture):
    payload = load_fixture("aliyun_arms/firing")
    del payload["alerts"][0]["labels"]["_aliyun_arms_alert_level"]

    (event,) = arms.parse(payload)

    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "critical")


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_empty_alerts", "alerts"),
        ("bad_status", "alerts[0].status"),
        ("bad_labels_not_object", "alerts[0].labels"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        arms.parse(load_fixture(f"aliyun_arms/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert arms.recognises(load_fixture("aliyun_arms/firing"))
    assert arms.recognises(load_fixture("aliyun_arms/batch_mixed_levels"))
    assert not arms.recognises(load_fixture("alertmanager/firing"))
    assert not arms.recognises(load_fixture("grafana/unified_firing"))
    assert not arms.recognises(["not", "an", "object"])


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push,
        channel,
        "aliyun_arms",
        load_fixture("aliyun_arms/firing"),
        load_fixture("aliyun_arms/recovered"),
    )
    assert (alert.alert_key, alert.severity) == ("5e1c0a7d93b04f21", "critical")
