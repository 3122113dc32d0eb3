from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.aliyun_sls import parser as sls
from integrations.sources.aliyun_sls.source import AliyunSlsSource
from oncall.events import EventKind, Link, PayloadError, Severity, stable_key
from tests.sources.cloud_push import assert_round_trip

FIRE = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_it_reads_a_firing_alert(load_fixture):
    (event,) = sls.parse(load_fixture("aliyun_sls/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "2f9b6a1c7d0e4b58",
        EventKind.FIRING,
        Severity.CRITICAL,
        "8",
    )
    assert event.title == "Nginx 5xx rate on nginx-edge-02 is 7.3%"
    assert event.description == (
        "7.3% of the requests to checkout failed with 5xx in the last 5 minutes."
    )
    assert event.labels == {
        "host": "nginx-edge-02",
        "upstream": "checkout",
        "project": "web-logs",
        "region": "cn-hangzhou",
        "alert_id": "nginx-5xx-rate",
        "runbook": "see wiki/nginx-5xx",
    }
    assert event.links == (
        Link(
            "https://sls.console.aliyun.com/lognext/project/web-logs/alert/nginx-5xx-rate", "Alert"
        ),
        Link(
            "https://sls.console.aliyun.com/lognext/project/web-logs/logsearch/nginx-access",
            "Query",
        ),
    )
    assert (event.starts_at, event.ends_at) == (FIRE, None)


def test_the_recovery_resolves_the_same_alert(load_fixture):
    (resolved,) = sls.parse(load_fixture("aliyun_sls/recovered"))

    assert (resolved.alert_key, resolved.kind) == ("2f9b6a1c7d0e4b58", EventKind.RESOLVED)
    assert resolved.ends_at == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(("level", "severity"), sls.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("aliyun_sls/firing")
    payload["severity"] = int(level)

    (event,) = sls.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in AliyunSlsSource.severity_table] == [
        ("10", "critical"),
        ("8", "critical"),
        ("6", "warning"),
        ("4", "warning"),
        ("2", "info"),
    ]


def test_without_a_fingerprint_the_rule_and_labels_are_the_identity(load_fixture):
    (event,) = sls.parse(load_fixture("aliyun_sls/no_fingerprint_string_fields"))

    assert event.alert_key == stable_key(
        "aliyun_sls", "app-logs", "order-timeouts", {"service": "order", "count": "17"}
    )
    assert (event.severity, event.title, event.starts_at) == (
        Severity.INFO,
        "Order service timeouts",
        FIRE,
    )
    assert event.links == ()


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_status", "status"),
        ("bad_labels", "labels"),
        ("bad_fire_time", "fire_time"),
        ("bad_no_identity", "alert_id"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        sls.parse(load_fixture(f"aliyun_sls/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert sls.recognises(load_fixture("aliyun_sls/firing"))
    assert sls.recognises(load_fixture("aliyun_sls/no_fingerprint_string_fields"))
    assert not sls.recognises(load_fixture("aliyun_cms_metric/firing"))
    assert not sls.recognises(load_fixture("alertmanager/firing"))


def test_the_setup_guide_carries_the_push_url():
    guide = AliyunSlsSource().setup_guide("https://oncall.example.com/push/tok")

    assert any("https://oncall.example.com/push/tok" in str(step) for step in guide.steps)
    assert guide.snippets[0].text == "{{ alert | to_json }}"


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push,
        channel,
        "aliyun_sls",
        load_fixture("aliyun_sls/firing"),
        load_fixture("aliyun_sls/recovered"),
    )
    assert (alert.alert_key, alert.severity) == ("2f9b6a1c7d0e4b58", "critical")
