from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from integrations.sources.aliyun_cms_metric import parser as cms
from integrations.sources.aliyun_cms_metric.source import AliyunCmsMetricSource
from oncall.events import EventKind, PayloadError, Severity
from tests.sources.cloud_push import assert_round_trip


def test_it_reads_a_firing_callback(load_fixture):
    (event,) = cms.parse(load_fixture("aliyun_cms_metric/firing"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "CRITICAL",
    )
    assert event.title == "ECS CPU above 85% - web-prod-03"
    assert event.description == (
        "CPUUtilization: 93.17\nCondition: $Average>=85\nLasted: 15 minutes"
    )
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert event.labels == {
        "instanceId": "i-bp1f3kd8w2x9hz4y7c1q",
        "userId": "1408836512270013",
        "namespace": "acs_ecs_dashboard",
        "metricName": "CPUUtilization",
        "instanceName": "web-prod-03",
        "regionId": "cn-hangzhou",
        "regionName": "China (Hangzhou)",
        "groupId": "20817533",
        "productGroupName": "web-prod",
        "ruleId": "applyTemplate7c9a6d6b-1a0e-4f0b-9bfc-5e3d0c1b2a77",
    }


def test_the_recovery_resolves_the_same_alert(load_fixture):
    (firing,) = cms.parse(load_fixture("aliyun_cms_metric/firing"))
    (resolved,) = cms.parse(load_fixture("aliyun_cms_metric/recovered"))

    assert resolved.kind == EventKind.RESOLVED
    assert resolved.alert_key == firing.alert_key
    assert resolved.ends_at == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)
    assert resolved.starts_at is None


def test_another_instance_of_the_rule_is_another_alert(load_fixture):
    payload = load_fixture("aliyun_cms_metric/firing")
    (first,) = cms.parse(payload)
    payload["dimensions"] = '{"instanceId":"i-other","userId":"1408836512270013"}'

    (second,) = cms.parse(payload)

    assert second.alert_key != first.alert_key


@pytest.mark.parametrize(("level", "severity"), cms.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("aliyun_cms_metric/firing")
    payload["triggerLevel"] = level

    (event,) = cms.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in AliyunCmsMetricSource.severity_table] == [
        ("CRITICAL", "critical"),
        ("WARN", "warning"),
        ("INFO", "info"),
        ("NODATA", "info"),
    ]
    assert AliyunCmsMetricSource.form_body is True


def test_no_data_without_a_level_is_info_and_java_dimensions_are_read(load_fixture):
    (event,) = cms.parse(load_fixture("aliyun_cms_metric/nodata_java_dimensions"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.INFO,
        "NODATA",
    )
    assert event.labels["instanceId"] == "rm-bp15w7x0a2k9d3e4f"
    assert event.title == "RDS connections reporting"
    assert event.description == "ConnectionUsage: -\nCondition: $Average>=2000"
    assert event.starts_at == datetime(2026, 11, 23, 4, 1, tzinfo=UTC)


def test_the_documented_json_sample_is_read(load_fixture):
    (event,) = cms.parse(load_fixture("aliyun_cms_metric/json_body"))

    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)
    assert event.labels["instanceId"] == "lb-bp1o94dp5i6earr9g6d1l"
    assert event.labels["port"] == "443"
    assert event.description.startswith("ActiveConnection: 6120\n")


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_state", "alertState"),
        ("bad_missing_state", "alertState"),
        ("bad_dimensions", "dimensions"),
        ("bad_no_rule", "alertName"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        cms.parse(load_fixture(f"aliyun_cms_metric/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert cms.recognises(load_fixture("aliyun_cms_metric/firing"))
    assert cms.recognises(load_fixture("aliyun_cms_metric/json_body"))
    assert not cms.recognises(load_fixture("aliyun_arms/firing"))
    assert not cms.recognises(load_fixture("alertmanager/firing"))
    assert not cms.recognises("alertState=OK")


@pytest.mark.django_db
def test_a_form_push_opens_an_incident_and_the_recovery_resolves_it(
    client, channel, load_fixture, django_capture_on_commit_callbacks
):
    def post_form(source, fields):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/push/{source.token}",
                data=urlencode(fields),
                content_type="application/x-www-form-urlencoded",
            )

    alert = assert_round_trip(
        None,
        channel,
        "aliyun_cms_metric",
        load_fixture("aliyun_cms_metric/firing"),
        load_fixture("aliyun_cms_metric/recovered"),
        send=post_form,
    )
    assert (alert.severity, alert.labels["instanceId"]) == ("critical", "i-bp1f3kd8w2x9hz4y7c1q")
