from __future__ import annotations

import pytest
from django.utils import translation

from integrations.sources.dynatrace import parser
from integrations.sources.dynatrace.source import DynatraceSource
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert
from tests.sources.push_roundtrip import fire_then_resolve

PID = "-4918291037415526147_1733216400000V2"


def test_it_opens_a_problem_with_its_details(load_fixture):
    (event,) = parser.parse(load_fixture("dynatrace/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        f"dynatrace:{PID}",
        EventKind.FIRING,
        Severity.INFO,
        "PERFORMANCE",
    )
    assert event.title == "Response time degradation"
    assert event.description.startswith("Response time degradation on service checkout-api")
    assert event.links == (
        Link(
            href=f"https://abc12345.live.dynatrace.com/#problems/problemdetails;pid={PID}",
            text="Problem",
        ),
    )
    assert event.labels == {
        "problem_id": "P-2412031",
        "impact": "SERVICE",
        "impacted_entities": "checkout-api",
        "env": "production",
        "team": "payments",
        "critical-path": "",
    }


def test_the_closing_notification_resolves_the_same_problem(load_fixture):
    (opened,) = parser.parse(load_fixture("dynatrace/firing"))
    (closed,) = parser.parse(load_fixture("dynatrace/recovered"))

    assert closed.kind == EventKind.RESOLVED
    assert closed.alert_key == opened.alert_key


def test_a_merged_problem_is_resolved(load_fixture):
    (event,) = parser.parse(load_fixture("dynatrace/merged"))
    assert event.kind == EventKind.RESOLVED


def test_empty_placeholders_give_no_link_and_no_tags(load_fixture):
    (event,) = parser.parse(load_fixture("dynatrace/availability_no_tags"))

    assert event.severity == Severity.CRITICAL
    assert event.links == ()
    assert event.description == ""
    assert set(event.labels) == {"problem_id", "impact", "impacted_entities"}


@pytest.mark.parametrize(("raw", "severity"), DynatraceSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    payload = load_fixture("dynatrace/firing") | {"ProblemSeverity": raw}
    assert parser.parse(payload)[0].severity == severity


def test_the_severity_table_is_the_knowledge_bases():
    assert dict(DynatraceSource.severity_table) == {
        "AVAILABILITY": Severity.CRITICAL,
        "ERROR": Severity.WARNING,
        "PERFORMANCE": Severity.INFO,
        "RESOURCE_CONTENTION": Severity.INFO,
        "CUSTOM_ALERT": Severity.INFO,
    }


def test_an_unknown_severity_is_a_warning(load_fixture):
    payload = load_fixture("dynatrace/firing") | {"ProblemSeverity": "MONITORING_UNAVAILABLE"}
    assert parser.parse(payload)[0].severity == Severity.WARNING


@pytest.mark.parametrize(
    ("case", "field"),
    [("bad_missing_pid", "PID"), ("bad_state", "State"), ("bad_pid_not_string", "PID")],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"dynatrace/{case}"))
    assert caught.value.field == field


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert DynatraceSource().recognises(load_fixture("dynatrace/firing"))
    assert not DynatraceSource().recognises(load_fixture("grafana/unified_firing"))
    assert not DynatraceSource().recognises("PID")


def test_the_setup_guide_carries_the_push_url_and_the_template():
    guide = DynatraceSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)
    assert '"PID": "{PID}"' in guide.snippets[0].text


@pytest.mark.django_db
def test_a_pushed_problem_opens_an_incident_and_its_closing_resolves_it(
    push, channel, load_fixture
):
    alert = fire_then_resolve(
        push,
        channel,
        "dynatrace",
        load_fixture("dynatrace/firing"),
        load_fixture("dynatrace/recovered"),
    )
    assert alert.alert_key == f"dynatrace:{PID}"
    assert alert.status == Alert.Status.RESOLVED


def test_the_setup_guide_speaks_the_admins_language():
    with translation.override("zh-hans"):
        guide = DynatraceSource().setup_guide("https://oncall.example/push/tok")
        steps = [str(step) for step in guide.steps]
    assert steps[0].startswith("在 Dynatrace 中打开")
    assert "https://oncall.example/push/tok" in steps[2]
