from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.volc_cm_metric import parser as volc
from integrations.sources.volc_cm_metric.source import VolcCmMetricSource
from oncall.events import EventKind, PayloadError, Severity
from tests.factories import AlertSourceFactory
from tests.sources.push_checks import assert_fires_then_resolves, assert_refused_with_hint


def test_it_reads_one_firing_alert_per_resource(load_fixture):
    first, second = volc.parse(load_fixture("volc_cm_metric/firing"))

    assert [first.alert_key, second.alert_key] == [
        "volc_cm:1800412345678123008:i-yc8k2x4p6r1mz3n5",
        "volc_cm:1800412345678123008:i-yc8k2x4p6r1mz3n6",
    ]
    assert (first.kind, first.severity, first.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "critical",
    )
    assert first.title == "ECS CPU above 85% on order-api-01"
    assert first.description == "CPU usage (average) > 85% for 3 periods\nCpuTotal = 92.7 %"
    assert first.starts_at == datetime(2024, 12, 3, 1, 41, 5, tzinfo=UTC)
    assert first.labels == {
        "Namespace": "VCM_ECS",
        "SubNamespace": "Instance",
        "RuleId": "1800412345678123008",
        "AccountId": "2100123456",
        "Region": "cn-beijing",
        "resource_id": "i-yc8k2x4p6r1mz3n5",
        "resource_name": "order-api-01",
    }


def test_a_recovered_resource_resolves_its_alert(load_fixture):
    [firing, _] = volc.parse(load_fixture("volc_cm_metric/firing"))
    [recovered] = volc.parse(load_fixture("volc_cm_metric/recovered"))

    assert recovered.alert_key == firing.alert_key
    assert recovered.kind == EventKind.RESOLVED
    assert recovered.description.endswith("CpuTotal = 40.2 %")


def test_no_data_alarms_are_alerts_of_their_own(load_fixture):
    no_data, recovered = volc.parse(load_fixture("volc_cm_metric/mixed_nodata"))

    assert (recovered.kind, recovered.severity) == (EventKind.RESOLVED, Severity.INFO)
    assert recovered.labels["Node"] == "primary"
    assert no_data.alert_key == "volc_cm:1800412345678999001:mysql-9b1d4e6f2a:nodata"
    assert no_data.kind == EventKind.FIRING
    assert no_data.title == "No data: RDS connections on audit-db"
    assert no_data.description == "Connections (max) > 2000\nConnectionCount = null"


@pytest.mark.parametrize(("level", "severity"), VolcCmMetricSource.severity_table)
def test_it_maps_the_knowledge_base_severity_table(load_fixture, level, severity):
    payload = load_fixture("volc_cm_metric/firing")
    payload["Level"] = level.upper()

    events = volc.parse(payload)

    assert {event.severity for event in events} == {severity}


def test_repeated_callbacks_keep_the_keys(load_fixture):
    again = load_fixture("volc_cm_metric/firing")
    again["Resources"][0]["LastAlertTime"] = 1733190365
    again["Resources"][0]["Metrics"][0]["Value"] = 95.0

    keys = [event.alert_key for event in volc.parse(again)]

    assert keys == [event.alert_key for event in volc.parse(load_fixture("volc_cm_metric/firing"))]


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_resources_not_array", "Resources"),
        ("bad_resource_without_id", "Resources[1].Id"),
        ("bad_no_resources", "Resources"),
    ],
)
def test_it_refuses_bad_payloads_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as error:
        volc.parse(load_fixture(f"volc_cm_metric/{case}"))

    assert error.value.field == field


def test_it_recognises_metric_callbacks_only(load_fixture):
    assert volc.recognises(load_fixture("volc_cm_metric/mixed_nodata"))
    assert not volc.recognises(load_fixture("tencent_cm/firing"))
    assert not volc.recognises({"Type": "Event", "RuleId": "1"})


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_cm_metric")
    firing = load_fixture("volc_cm_metric/firing")
    del firing["Resources"][1]  # one resource: one alert, one incident

    assert_fires_then_resolves(push, source, firing, load_fixture("volc_cm_metric/recovered"))


@pytest.mark.django_db
def test_a_payload_of_another_kind_is_refused_with_the_hint(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="volc_cm_metric")

    assert_refused_with_hint(
        push,
        source,
        load_fixture("tencent_cls/firing"),
        "This looks like a Tencent Cloud CLS payload; "
        "this source expects Volcengine Cloud Monitor metrics.",
    )
