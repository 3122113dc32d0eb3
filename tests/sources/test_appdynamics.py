from __future__ import annotations

import pytest

from integrations.sources.appdynamics import parser
from integrations.sources.appdynamics.source import AppDynamicsSource
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert
from tests.sources.push_roundtrip import fire_then_resolve


def test_it_opens_a_health_rule_violation(load_fixture):
    (event,) = parser.parse(load_fixture("appdynamics/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "appdynamics:incident:88213",
        EventKind.FIRING,
        Severity.CRITICAL,
        "ERROR",
    )
    assert event.title == "Health Rule Violation Started - Critical"
    assert event.description.startswith("AppDynamics has detected a problem")
    assert event.links == (
        Link(
            href="https://acme.saas.appdynamics.com/#location=APP_INCIDENT_DETAIL_MODAL&incident=88213",
            text="AppDynamics",
        ),
    )
    assert event.labels == {
        "policy_name": "Checkout latency",
        "application_name": "shop-prod",
        "health_rule_name": "Business Transaction response time is much higher than normal",
        "node_name": "checkout-node-3",
        "event_type": "HEALTH_RULE_OPEN_CRITICAL",
        "event_time": "Tue Dec 03 09:12:44 UTC 2026",
    }


def test_the_close_event_resolves_the_same_incident(load_fixture):
    (opened,) = parser.parse(load_fixture("appdynamics/firing"))
    (closed,) = parser.parse(load_fixture("appdynamics/recovered"))

    assert closed.kind == EventKind.RESOLVED
    assert closed.alert_key == opened.alert_key


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("HEALTH_RULE_OPEN_WARNING", EventKind.FIRING),
        ("HEALTH_RULE_CONTINUES_CRITICAL", EventKind.FIRING),
        ("HEALTH_RULE_UPGRADED", EventKind.FIRING),
        ("HEALTH_RULE_CANCELED_WARNING", EventKind.RESOLVED),
        ("POLICY_CLOSE_WARNING", EventKind.RESOLVED),
        ("POLICY_CANCELED_CRITICAL", EventKind.RESOLVED),
    ],
)
def test_close_and_cancel_event_types_resolve(load_fixture, event_type, kind):
    payload = load_fixture("appdynamics/firing")
    payload["details"]["event_type"] = event_type
    assert parser.parse(payload)[0].kind == kind


def test_an_event_without_incident_is_its_own_alert_with_the_custom_variables(load_fixture):
    (event,) = parser.parse(load_fixture("appdynamics/crash_custom_variables"))

    assert event.alert_key == "appdynamics:event:1736777"
    assert event.severity == Severity.WARNING
    assert event.links == ()
    assert event.labels["host"] == "ip-10-0-3-17"
    assert event.labels["team"] == "payments"
    assert "health_rule_name" not in event.labels


@pytest.mark.parametrize(("raw", "severity"), AppDynamicsSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    payload = load_fixture("appdynamics/firing")
    payload["details"]["severity"] = raw
    assert parser.parse(payload)[0].severity == severity


def test_the_severity_table_is_the_knowledge_bases():
    assert dict(AppDynamicsSource.severity_table) == {
        "ERROR": Severity.CRITICAL,
        "WARN": Severity.WARNING,
        "INFO": Severity.INFO,
    }


@pytest.mark.parametrize(
    ("case", "field"),
    [("bad_no_identity", "incident_id"), ("bad_details_not_object", "details")],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"appdynamics/{case}"))
    assert caught.value.field == field


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert AppDynamicsSource().recognises(load_fixture("appdynamics/firing"))
    assert not AppDynamicsSource().recognises(load_fixture("dynatrace/firing"))
    assert not AppDynamicsSource().recognises([])


def test_the_setup_guide_carries_the_push_url_and_the_template():
    guide = AppDynamicsSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)
    assert "${latestEvent.incident.id}" in guide.snippets[0].text


@pytest.mark.django_db
def test_a_pushed_violation_opens_an_incident_and_its_close_resolves_it(
    push, channel, load_fixture
):
    alert = fire_then_resolve(
        push,
        channel,
        "appdynamics",
        load_fixture("appdynamics/firing"),
        load_fixture("appdynamics/recovered"),
    )
    assert alert.status == Alert.Status.RESOLVED
