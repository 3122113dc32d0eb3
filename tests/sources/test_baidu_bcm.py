from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.baidu_bcm import parser as bcm
from integrations.sources.baidu_bcm.source import BaiduBcmSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from tests.sources.cloud_push import assert_round_trip


def test_it_reads_a_triggered_alarm(load_fixture):
    (event,) = bcm.parse(load_fixture("baidu_bcm/firing"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.CRITICAL,
        "MAJOR",
    )
    assert event.alert_key == stable_key(
        "baidu_bcm", "BCE_BCC", "bcc-cpu-high", "bj", {"InstanceId": "i-Xk2pLm9q"}
    )
    assert event.title == "bcc-cpu-high - web-prod-03"
    assert event.description.startswith("CPU usage of web-prod-03 (i-Xk2pLm9q) is 93.1%")
    assert event.labels == {
        "InstanceId": "i-Xk2pLm9q",
        "serviceName": "BCE_BCC",
        "region": "bj",
        "resourceType": "Instance",
        "metric": "CPUUsagePercent",
        "policyName": "bcc-cpu-high",
        "instanceName": "web-prod-03",
        "internalIp": "192.168.0.12",
    }
    assert (event.starts_at, event.ends_at) == (datetime(2026, 11, 23, 4, 0, tzinfo=UTC), None)


def test_the_recovery_resolves_the_same_alert(load_fixture):
    (firing,) = bcm.parse(load_fixture("baidu_bcm/firing"))
    (recovered,) = bcm.parse(load_fixture("baidu_bcm/recovered"))

    assert (recovered.kind, recovered.alert_key) == (EventKind.RESOLVED, firing.alert_key)
    assert recovered.ends_at == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(("level", "severity"), bcm.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_levels(load_fixture, level, severity):
    payload = load_fixture("baidu_bcm/firing")
    payload["level"] = level

    (event,) = bcm.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, level)


@pytest.mark.parametrize(
    ("word", "severity"),
    [
        ("Severe", Severity.CRITICAL),
        ("Important", Severity.CRITICAL),
        ("Warning", Severity.WARNING),
        ("Notice", Severity.INFO),
    ],
)
def test_the_knowledge_bases_console_words_map_the_same(load_fixture, word, severity):
    payload = load_fixture("baidu_bcm/firing")
    payload["level"] = word

    (event,) = bcm.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, word)


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in BaiduBcmSource.severity_table] == [
        ("CRITICAL", "critical"),
        ("MAJOR", "critical"),
        ("WARNING", "warning"),
        ("NOTICE", "info"),
    ]


def test_no_data_fires_at_the_policys_level(load_fixture):
    (event,) = bcm.parse(load_fixture("baidu_bcm/no_data_console_level"))

    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.INFO)
    assert event.title == "rds-no-data - rds-8x1yq2"
    assert event.labels["Port"] == "3306"
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_type", "type"),
        ("bad_no_policy", "policyName"),
        ("bad_identifiers", "resource.identifiers"),
        ("bad_start_time", "startTime"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        bcm.parse(load_fixture(f"baidu_bcm/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert bcm.recognises(load_fixture("baidu_bcm/firing"))
    assert not bcm.recognises(load_fixture("aliyun_cms_metric/firing"))
    assert not bcm.recognises(load_fixture("huawei_ces/bare_insufficient_data"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push,
        channel,
        "baidu_bcm",
        load_fixture("baidu_bcm/firing"),
        load_fixture("baidu_bcm/recovered"),
    )
    assert alert.severity == "critical"
