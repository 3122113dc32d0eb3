from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.gcp_monitoring import parser
from integrations.sources.gcp_monitoring.source import GcpMonitoringSource
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert
from oncall.sources import PushRequest
from tests.sources.push_roundtrip import fire_then_resolve

INCIDENT_URL = (
    "https://console.cloud.google.com/monitoring/alerting/incidents/0.nqt5ll2wzk1s"
    "?project=shop-prod-2291"
)


def test_an_open_incident_fires_with_its_policy_and_resource(load_fixture):
    (event,) = parser.parse(load_fixture("gcp_monitoring/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "gcp:0.nqt5ll2wzk1s",
        EventKind.FIRING,
        Severity.CRITICAL,
        "Critical",
    )
    assert event.title == "Checkout VM CPU: VM Instance - CPU utilization"
    assert event.description == (
        "CPU utilization for shop-prod-2291 checkout-vm-3 is above the threshold of 0.850 "
        "with a value of 0.962.\n\nScale the checkout group or look for a runaway job."
    )
    assert event.starts_at == datetime.fromtimestamp(1764753000, tz=UTC)
    assert event.ends_at is None
    assert event.links == (
        Link(href=INCIDENT_URL, text="Incident"),
        Link(href="https://runbooks.example.com/checkout-cpu", text="Runbook"),
    )
    assert event.labels == {
        "policy_name": "Checkout VM CPU",
        "check": "VM Instance - CPU utilization",
        "resource_type": "gce_instance",
        "resource_name": "checkout-vm-3",
        "metric_type": "compute.googleapis.com/instance/cpu/utilization",
        "observed_value": "0.962",
        "threshold_value": "0.85",
        "severity": "p1",
        "zone": "overridden-by-nothing",
        "project_id": "shop-prod-2291",
        "instance_id": "5129391837201937733",
        "instance_name": "checkout-vm-3",
        "team": "checkout",
        "machine_type": "e2-standard-4",
    }


def test_the_closed_incident_resolves_the_same_alert(load_fixture):
    (event,) = parser.parse(load_fixture("gcp_monitoring/recovered"))

    assert (event.alert_key, event.kind) == ("gcp:0.nqt5ll2wzk1s", EventKind.RESOLVED)
    assert event.ends_at == datetime.fromtimestamp(1764754260, tz=UTC)


def test_an_uptime_incident_without_severity_is_info_and_takes_the_subject(load_fixture):
    (event,) = parser.parse(load_fixture("gcp_monitoring/uptime_no_severity"))

    assert (event.kind, event.severity, event.raw_severity) == (
        EventKind.FIRING,
        Severity.INFO,
        "",
    )
    assert event.title == "Storefront is down"
    assert event.labels["host"] == "shop.example.com"


@pytest.mark.parametrize(("raw", "severity"), GcpMonitoringSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    payload = load_fixture("gcp_monitoring/firing")
    payload["incident"]["severity"] = raw
    assert parser.parse(payload)[0].severity == severity


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_no_incident", "incident"),
        ("bad_state", "incident.state"),
        ("bad_started_at_text", "incident.started_at"),
    ],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"gcp_monitoring/{case}"))
    assert caught.value.field == field


def test_test_connection_is_answered_without_an_event(load_fixture):
    ping = load_fixture("gcp_monitoring/firing") | {"version": "test"}
    push = PushRequest(headers={}, query={}, options={}, secret="", raw_body=b"")

    assert GcpMonitoringSource().handshake(ping, push).status == 200
    assert GcpMonitoringSource().handshake(load_fixture("gcp_monitoring/firing"), push) is None


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert GcpMonitoringSource().recognises(load_fixture("gcp_monitoring/firing"))
    assert not GcpMonitoringSource().recognises(load_fixture("cloudflare/firing"))


def test_the_setup_guide_carries_the_push_url():
    guide = GcpMonitoringSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_pushed_incident_opens_an_incident_and_its_closure_resolves_it(
    push, channel, load_fixture
):
    alert = fire_then_resolve(
        push,
        channel,
        "gcp_monitoring",
        load_fixture("gcp_monitoring/firing"),
        load_fixture("gcp_monitoring/recovered"),
    )
    assert alert.status == Alert.Status.RESOLVED
