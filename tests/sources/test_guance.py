from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.guance import parser as guance
from integrations.sources.guance.source import GuanceSource
from oncall.events import EventKind, PayloadError, Severity, stable_key
from tests.sources.cloud_push import assert_round_trip


def test_it_reads_a_critical_event(load_fixture):
    (event,) = guance.parse(load_fixture("guance/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "f3a9c1d27b8e4a06",
        EventKind.FIRING,
        Severity.CRITICAL,
        "critical",
    )
    assert event.title == "web-prod-03 CPU usage above 90%"
    assert event.description.startswith("Host web-prod-03: CPU usage is 96.2%")
    assert event.labels == {
        "host": "web-prod-03",
        "region": "cn-hangzhou",
        "df_monitor_checker_name": "Host CPU usage",
        "df_monitor_name": "Host monitoring",
        "df_workspace_name": "Production",
        "df_source": "monitor",
        "df_sub_status": "critical",
    }
    assert event.links[0].text == "Guance"
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def test_ok_resolves_the_same_alert(load_fixture):
    (ok,) = guance.parse(load_fixture("guance/recovered"))

    assert (ok.alert_key, ok.kind, ok.severity) == (
        "f3a9c1d27b8e4a06",
        EventKind.RESOLVED,
        Severity.INFO,
    )
    assert ok.ends_at == datetime(2026, 11, 23, 4, 15, tzinfo=UTC)


@pytest.mark.parametrize(("status", "severity"), guance.SEVERITY_TABLE)
def test_it_maps_the_knowledge_bases_statuses(load_fixture, status, severity):
    payload = load_fixture("guance/firing")
    payload["df_status"] = status

    (event,) = guance.parse(payload)

    assert (event.severity, event.raw_severity) == (severity, status)
    assert event.kind == (EventKind.RESOLVED if status == "ok" else EventKind.FIRING)


def test_any_other_status_is_info(load_fixture):
    payload = load_fixture("guance/firing")
    payload["df_status"] = "unknown_state"

    (event,) = guance.parse(payload)

    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.INFO)


def test_the_table_is_the_knowledge_bases():
    assert [(w, str(s)) for w, s in GuanceSource.severity_table] == [
        ("critical", "critical"),
        ("fatal", "critical"),
        ("error", "warning"),
        ("warning", "warning"),
        ("info", "info"),
        ("nodata", "info"),
        ("ok", "info"),
    ]


def test_without_an_event_ref_the_checker_and_dimensions_are_the_identity(load_fixture):
    (event,) = guance.parse(load_fixture("guance/nodata_no_event_ref"))

    assert event.alert_key == stable_key(
        "guance", "rul_0f1e2d3c4b5a", {"service": "payments", "env": "prod"}
    )
    assert (event.severity, event.title, event.description) == (
        Severity.INFO,
        "Payments heartbeat",
        "",
    )
    assert event.starts_at == datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert event.links == ()


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_no_status", "df_status"),
        ("bad_status_type", "df_status"),
        ("bad_dimension_tags", "df_dimension_tags"),
        ("bad_no_identity", "df_monitor_checker_event_ref"),
    ],
)
def test_it_refuses_bad_input_naming_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as refused:
        guance.parse(load_fixture(f"guance/{case}"))
    assert refused.value.field == field


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert guance.recognises(load_fixture("guance/firing"))
    assert not guance.recognises(load_fixture("baidu_bcm/firing"))
    assert not guance.recognises(load_fixture("aliyun_sls/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_ok_resolves_it(push, channel, load_fixture):
    alert = assert_round_trip(
        push, channel, "guance", load_fixture("guance/firing"), load_fixture("guance/recovered")
    )
    assert alert.alert_key == "f3a9c1d27b8e4a06"
