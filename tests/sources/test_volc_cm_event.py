from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.volc_cm_event import parser as volc
from integrations.sources.volc_cm_event.source import VolcCmEventSource
from oncall.events import EventKind, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_refused_with_hint, assert_repeats_merge


def test_it_reads_an_event_as_a_firing_alert_at_its_most_urgent_rule(load_fixture):
    [event] = volc.parse(load_fixture("volc_cm_event/firing"))

    assert event.alert_key.startswith("volc_event:")
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "critical",
    )
    assert event.title == "Disk error, redeploying the instance on i-3tq9z2mx7kf1"
    assert event.description == (
        "Rules: ECS disk faults, Everything critical\nInstanceId: i-3tq9z2mx7kf1\n"
        "InstanceName: search-node-4\nDiskId: vol-8d2k1x"
    )
    assert event.starts_at == datetime(2024, 12, 3, 4, 47, 14, tzinfo=UTC)
    assert event.labels == {
        "Source": "ecs",
        "EventType": "ecs:Disk:DiskError.Redeploy.Executing",
        "Region": "cn-guangzhou",
        "ProjectName": "default",
        "AccountId": "2100123456",
        "resource": "i-3tq9z2mx7kf1",
        "RuleIds": "1801100000000000101,1801100000000000102",
    }


def test_a_repeat_of_the_event_merges_and_never_resolves(load_fixture):
    [first] = volc.parse(load_fixture("volc_cm_event/firing"))
    [repeat] = volc.parse(load_fixture("volc_cm_event/repeat"))

    assert repeat.alert_key == first.alert_key
    assert repeat.kind == EventKind.FIRING
    assert repeat.severity == Severity.WARNING


def test_details_may_be_a_json_string(load_fixture):
    [event] = volc.parse(load_fixture("volc_cm_event/details_as_string"))

    assert event.title == "主备切换完成 on mysql-5c2d9e1a"
    assert (event.severity, event.raw_severity) == (Severity.INFO, "Notice")
    assert event.description == "Rules: RDS changes\nInstanceId: mysql-5c2d9e1a"


@pytest.mark.parametrize(("level", "severity"), VolcCmEventSource.severity_table)
def test_it_maps_the_knowledge_base_severity_table(load_fixture, level, severity):
    payload = load_fixture("volc_cm_event/firing")
    payload["Rules"] = [{"RuleId": "1", "RuleName": "one rule", "Level": level}]

    [event] = volc.parse(payload)

    assert event.severity == severity


def test_without_rules_an_event_is_a_warning(load_fixture):
    payload = load_fixture("volc_cm_event/firing")
    del payload["Rules"]

    [event] = volc.parse(payload)

    assert (event.severity, event.raw_severity) == (Severity.WARNING, "")


def test_another_resource_is_another_alert(load_fixture):
    other = load_fixture("volc_cm_event/firing")
    other["Details"]["subject"] = "i-other"

    assert (
        volc.parse(other)[0].alert_key
        != volc.parse(load_fixture("volc_cm_event/firing"))[0].alert_key
    )


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_missing_event_type", "EventType"),
        ("bad_rules_not_array", "Rules"),
        ("bad_details", "Details"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        volc.parse(load_fixture(f"volc_cm_event/{case}"))

    assert error.value.field == field


def test_it_recognises_event_callbacks_only(load_fixture):
    assert volc.recognises(load_fixture("volc_cm_event/details_as_string"))
    assert not volc.recognises(load_fixture("volc_cm_metric/firing"))
    assert not volc.recognises(load_fixture("tencent_eventbridge/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_a_repeat_merges_into_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_cm_event")

    assert_repeats_merge(
        push, source, load_fixture("volc_cm_event/firing"), load_fixture("volc_cm_event/repeat")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_cm_event")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("tencent_eventbridge/firing"),
        "This looks like a Tencent Cloud EventBridge payload; "
        "this source expects Volcengine Cloud Monitor events.",
    )
