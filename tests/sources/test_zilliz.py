from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.zilliz import parser as zilliz
from integrations.sources.zilliz.source import ZillizSource
from oncall.events import EventKind, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_a_firing_alert(load_fixture):
    [event] = zilliz.parse(load_fixture("zilliz/firing"))

    assert event.alert_key == "zilliz:alrt-rule-0c3a5e7f9b:in01-3f8a2c6e1d9b4a7"
    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.WARNING,
        "WARNING",
    )
    assert event.title == "CU capacity above 80% on search-prod"
    assert event.description == (
        "CU_CAPACITY > 80\nCurrent value: 86.4\nWindow: 10 min\nCU capacity of search-prod is 86.4%"
    )
    assert event.starts_at == datetime(2024, 12, 3, 8, 12, tzinfo=UTC)
    assert event.labels == {
        "projectId": "proj-7e1d3c5a9b2f4d6e8a0c1b",
        "clusterId": "in01-3f8a2c6e1d9b4a7",
        "clusterName": "search-prod",
        "metricName": "CU_CAPACITY",
        "ruleId": "alrt-rule-0c3a5e7f9b",
        "region": "aws-us-west-2",
    }
    assert [link.text for link in event.links] == ["Zilliz Cloud"]


def test_a_resolution_resolves_the_same_alert(load_fixture):
    [firing] = zilliz.parse(load_fixture("zilliz/firing"))
    [recovered] = zilliz.parse(load_fixture("zilliz/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED
    assert recovered.ends_at == datetime(2024, 12, 3, 8, 52, tzinfo=UTC)


def test_lower_case_words_numbers_and_unix_times_are_read(load_fixture):
    [event] = zilliz.parse(load_fixture("zilliz/critical_unix_time"))

    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.CRITICAL)
    assert event.title == "P99 search latency on in01-5b2d7f9a3c1e6b8"
    assert event.starts_at == datetime(2024, 12, 3, 8, 20, tzinfo=UTC)
    assert event.description == "SEARCH_LATENCY_P99 >= 500\nCurrent value: 912"
    assert event.links == ()


@pytest.mark.parametrize(("level", "severity"), ZillizSource.severity_table)
def test_it_maps_the_knowledge_base_severity_table(load_fixture, level, severity):
    payload = load_fixture("zilliz/firing")
    payload["level"] = level

    [event] = zilliz.parse(payload)

    assert event.severity == severity


def test_another_cluster_of_the_rule_is_another_alert(load_fixture):
    other = load_fixture("zilliz/firing")
    other["clusterId"] = "in01-other"

    assert (
        zilliz.parse(other)[0].alert_key != zilliz.parse(load_fixture("zilliz/firing"))[0].alert_key
    )


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_status", "status"),
        ("bad_missing_rule_id", "ruleId"),
        ("bad_triggered_at", "triggeredAt"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        zilliz.parse(load_fixture(f"zilliz/{case}"))

    assert error.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert zilliz.recognises(load_fixture("zilliz/critical_unix_time"))
    assert not zilliz.recognises(load_fixture("oceanbase/firing"))
    assert not zilliz.recognises(load_fixture("alertmanager/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="zilliz")

    assert_fires_then_resolves(
        push, source, load_fixture("zilliz/firing"), load_fixture("zilliz/recovered")
    )


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="zilliz")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("oceanbase/firing"),
        "This looks like a OceanBase (OCP) payload; this source expects Zilliz Cloud.",
    )
