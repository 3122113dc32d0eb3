from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.aliyun_cms_event import parser as events
from integrations.sources.aliyun_cms_event.source import AliyunCmsEventSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from tests.factories import AlertSourceFactory
from tests.sources.cloud_push import assert_round_trip

RESOURCE = "acs:ecs:cn-hangzhou:1408836512270013:instance/i-bp1f3kd8w2x9hz4y7c1q"


def test_it_reads_a_system_event(load_fixture):
    (event,) = events.parse(load_fixture("aliyun_cms_event/firing"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "CRITICAL",
    )
    assert event.alert_key == stable_key(
        "aliyun_cms_event", "ECS", RESOURCE, "Instance:SystemFailure.Reboot"
    )
    assert event.title == "ECS Instance:SystemFailure.Reboot:Executing - web-prod-03"
    assert "reason: The physical host of the instance failed" in event.description
    assert event.labels["regionId"] == "cn-hangzhou"
    assert event.labels["status"] == "Executing"
    assert event.labels["eventType"] == "SystemFailure.Reboot"
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, 12, tzinfo=UTC)


def test_the_closing_stage_resolves_the_same_alert(load_fixture):
    (firing,) = events.parse(load_fixture("aliyun_cms_event/firing"))
    (closing,) = events.parse(load_fixture("aliyun_cms_event/recovered"))

    assert (closing.kind, closing.alert_key) == (EventKind.RESOLVED, firing.alert_key)
    assert closing.ends_at == datetime(2026, 11, 23, 4, 6, 40, tzinfo=UTC)


@pytest.mark.parametrize("status", ["Resolved", "Recovered", "Canceled", "Avoided", "executed"])
def test_every_closing_status_resolves(load_fixture, status):
    payload = load_fixture("aliyun_cms_event/state_change_no_phase")
    payload["status"] = status

    (event,) = events.parse(payload)

    assert event.kind == EventKind.RESOLVED


@pytest.mark.parametrize(("level", "severity"), events.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("aliyun_cms_event/firing")
    payload["level"] = level

    (event,) = events.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in AliyunCmsEventSource.severity_table] == [
        ("CRITICAL", "critical"),
        ("WARNING", "warning"),
        ("INFO", "info"),
    ]


def test_a_name_without_a_stage_is_kept_whole(load_fixture):
    (event,) = events.parse(load_fixture("aliyun_cms_event/state_change_no_phase"))

    assert event.kind == EventKind.FIRING
    assert (event.severity, event.raw_severity) == (Severity.WARNING, "WARN")
    assert event.alert_key == stable_key(
        "aliyun_cms_event",
        "ECS",
        "acs:ecs:cn-shanghai:1408836512270013:instance/i-uf6c0x1y2z3a4b5c6d7e",
        "Instance:StateChange",
    )
    assert event.starts_at is None
    assert event.labels["state"] == "Stopping"


def test_capitalised_keys_and_a_millisecond_time_are_read(load_fixture):
    (event,) = events.parse(load_fixture("aliyun_cms_event/capitalised_keys"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.WARNING,
        "WARN",
    )
    assert event.alert_key == stable_key(
        "aliyun_cms_event",
        "ECS",
        "acs:ecs:cn-beijing:1408836512270013:instance/i-2ze9x8w7v6u5t4s3r2q1",
        "Instance:SystemMaintenance.Reboot",
    )
    assert event.title == "ECS Instance:SystemMaintenance.Reboot:Executing - db-proxy-02"
    assert event.labels["regionId"] == "cn-beijing"
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_missing_name", "name"),
        ("bad_content_not_object", "content"),
        ("bad_event_time", "eventTime"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        events.parse(load_fixture(f"aliyun_cms_event/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert events.recognises(load_fixture("aliyun_cms_event/firing"))
    assert events.recognises(load_fixture("aliyun_cms_event/capitalised_keys"))
    assert not events.recognises(load_fixture("aliyun_cms_metric/json_body"))
    assert not events.recognises(load_fixture("aliyun_sls/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_closing_stage_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push,
        channel,
        "aliyun_cms_event",
        load_fixture("aliyun_cms_event/firing"),
        load_fixture("aliyun_cms_event/recovered"),
    )
    assert alert.severity == "critical"


@pytest.mark.django_db
def test_a_metric_callback_posted_here_is_refused_with_a_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="aliyun_cms_event")

    response = push(source, load_fixture("aliyun_cms_metric/json_body"))

    assert response.status_code == 400
    assert "Alibaba Cloud CloudMonitor (metrics)" in response.json()["error"]["message"]
