from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.ctyun import parser as ctyun
from integrations.sources.ctyun.source import CtyunSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from tests.sources.cloud_push import assert_round_trip

ISSUE = "6c1f0e2d-3b4a-4c5d-9e8f-7a6b5c4d3e2f"


def test_it_reads_an_alarm(load_fixture):
    (event,) = ctyun.parse(load_fixture("ctyun/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        ISSUE,
        EventKind.FIRING,
        Severity.CRITICAL,
        "紧急",
    )
    assert event.title == "ecs-cpu-high - web-prod-03"
    assert event.description == "[天翼云] ecs-cpu-high: web-prod-03 CPU usage 93.1% >= 85%"
    assert event.labels == {
        "uuid": "3f2e1d0c-b9a8-4765-8432-10fedcba9876",
        "name": "web-prod-03",
        "service": "ecs",
        "dimension": "ecs",
        "regionID": "bb9fdb42056f11eda1610242ac110002",
        "metricName": "cpu_util",
        "alarmRuleID": "b1a2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
    }
    assert (event.starts_at, event.ends_at) == (datetime(2026, 11, 23, 4, 0, tzinfo=UTC), None)


def test_the_recovery_resolves_the_same_alert(load_fixture):
    (recovered,) = ctyun.parse(load_fixture("ctyun/recovered"))

    assert (recovered.alert_key, recovered.kind) == (ISSUE, EventKind.RESOLVED)
    assert recovered.ends_at == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(("level", "severity"), ctyun.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("ctyun/firing")
    payload["alarmLevel"] = level

    (event,) = ctyun.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("紧急", Severity.CRITICAL),
        ("警示", Severity.WARNING),
        ("普通", Severity.INFO),
        ("1", Severity.CRITICAL),
        ("2", Severity.WARNING),
        ("3", Severity.INFO),
    ],
)
def test_the_consoles_words_and_numbers_are_the_same_levels(load_fixture, word, severity):
    payload = load_fixture("ctyun/firing")
    payload["alarmLevel"] = word

    (event,) = ctyun.parse(payload)

    assert event.severity == severity


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in CtyunSource.severity_table] == [
        ("Urgent", "critical"),
        ("Warning", "warning"),
        ("Normal", "info"),
    ]


@pytest.mark.parametrize("status", ["recovered", "OK", "已恢复", "1"])
def test_every_recovered_word_resolves(load_fixture, status):
    payload = load_fixture("ctyun/firing")
    payload["status"] = status

    (event,) = ctyun.parse(payload)

    assert event.kind == EventKind.RESOLVED


def test_without_an_issue_the_rule_and_resources_are_the_identity(load_fixture):
    (event,) = ctyun.parse(load_fixture("ctyun/no_issue_numbered_level"))

    assert event.alert_key == stable_key(
        "ctyun", "0f9e8d7c-6b5a-4493-8271-605f4e3d2c1b", {"bucket": "media-prod"}
    )
    assert (event.kind, event.severity, event.title) == (
        EventKind.FIRING,
        Severity.INFO,
        "oss-bucket-traffic",
    )
    assert event.description == "traffic_out: 1024"
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_status", "status"),
        ("bad_no_identity", "issueID"),
        ("bad_resources", "resources"),
        ("bad_trigger_time", "triggerTime"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        ctyun.parse(load_fixture(f"ctyun/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert ctyun.recognises(load_fixture("ctyun/firing"))
    assert not ctyun.recognises(load_fixture("zstack/firing"))
    assert not ctyun.recognises(load_fixture("huawei_ces/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push, channel, "ctyun", load_fixture("ctyun/firing"), load_fixture("ctyun/recovered")
    )
    assert alert.alert_key == ISSUE
