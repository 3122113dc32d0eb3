from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from integrations.sources.huawei_lts import parser as lts
from integrations.sources.huawei_lts.source import HuaweiLtsSource
from oncall.events import EventKind, Link, PayloadError, Severity, stable_key
from tests.sources.cloud_push import assert_round_trip


def test_it_reads_a_log_alarm(load_fixture):
    (event,) = lts.parse(load_fixture("huawei_lts/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "LTS-1795406400123-0007",
        EventKind.FIRING,
        Severity.CRITICAL,
        "Critical",
    )
    assert event.title == "checkout-error-keywords"
    assert event.description == (
        "checkout-api logged ERROR 37 times in the last 5 minutes (threshold: 20)."
    )
    assert event.labels["log_group_name"] == "prod-apps"
    assert event.labels["log_stream_name"] == "checkout-api"
    assert event.labels["current_value"] == "37"
    assert "message" not in event.labels
    assert event.links[0].text == "Logs"
    assert isinstance(event.links[0], Link)
    assert (event.starts_at, event.ends_at) == (datetime(2026, 11, 23, 4, 0, tzinfo=UTC), None)


def test_the_recovery_resolves_the_same_alert(load_fixture):
    (recovered,) = lts.parse(load_fixture("huawei_lts/recovered"))

    assert (recovered.alert_key, recovered.kind) == ("LTS-1795406400123-0007", EventKind.RESOLVED)
    assert recovered.ends_at == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize("status", ["ok", "Resolved", "cleared", "RECOVERED"])
def test_a_recovered_status_without_an_end_resolves(load_fixture, status):
    payload = load_fixture("huawei_lts/firing")
    message = json.loads(payload["message"])
    message["annotations"]["alarm_status"] = status
    payload["message"] = json.dumps(message)

    (event,) = lts.parse(payload)

    assert (event.kind, event.ends_at) == (EventKind.RESOLVED, None)


@pytest.mark.parametrize(("level", "severity"), lts.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("huawei_lts/firing")
    message = json.loads(payload["message"])
    message["metadata"]["event_severity"] = level
    payload["message"] = json.dumps(message)

    (event,) = lts.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in HuaweiLtsSource.severity_table] == [
        ("Critical", "critical"),
        ("Major", "warning"),
        ("Minor", "info"),
        ("Info", "info"),
    ]


def test_without_a_serial_number_the_rule_and_stream_are_the_identity(load_fixture):
    (event,) = lts.parse(load_fixture("huawei_lts/no_serial_number"))

    assert event.alert_key == stable_key("huawei_lts", "nginx-5xx-sql", "", "edge", "nginx-access")
    assert (event.severity, event.description) == (
        Severity.INFO,
        "The SQL alarm rule matched 12 rows.",
    )
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_message_text", "message"),
        ("bad_metadata", "metadata"),
        ("bad_starts_at", "starts_at"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        lts.parse(load_fixture(f"huawei_lts/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert lts.recognises(load_fixture("huawei_lts/firing"))
    assert not lts.recognises(load_fixture("huawei_ces/firing"))
    assert not lts.recognises(load_fixture("aliyun_sls/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push,
        channel,
        "huawei_lts",
        load_fixture("huawei_lts/firing"),
        load_fixture("huawei_lts/recovered"),
    )
    assert alert.alert_key == "LTS-1795406400123-0007"
