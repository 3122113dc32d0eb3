from __future__ import annotations

import json

import pytest

from integrations.sources.solarwinds import parser
from integrations.sources.solarwinds.source import SolarWindsSource
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert
from tests.sources.push_roundtrip import fire_then_resolve


def test_a_triggered_alert_fires_on_its_object(load_fixture):
    (event,) = parser.parse(load_fixture("solarwinds/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "solarwinds:47:1182",
        EventKind.FIRING,
        Severity.CRITICAL,
        "Critical",
    )
    assert event.title == "High CPU Load on core-sw-01"
    assert event.description == (
        "CPU load on core-sw-01 is 97 %\n\n"
        "Fires when a node's average CPU load exceeds 90 % for 5 minutes."
    )
    assert event.labels == {
        "object_name": "core-sw-01",
        "object_type": "Node",
        "alert_id": "47",
        "trigger_time": "12/3/2026 9:15 AM",
    }
    assert event.links == (
        Link(
            href="https://orion.example.net/Orion/View.aspx?NetObject=AAT:1182",
            text="Alert details",
        ),
    )


def test_the_reset_action_resolves_the_same_alert(load_fixture):
    (fired,) = parser.parse(load_fixture("solarwinds/firing"))
    (reset,) = parser.parse(load_fixture("solarwinds/recovered"))

    assert reset.kind == EventKind.RESOLVED
    assert reset.alert_key == fired.alert_key


def test_without_an_object_id_the_object_name_scopes_the_alert(load_fixture):
    (event,) = parser.parse(load_fixture("solarwinds/serious_without_object_id"))

    assert event.alert_key == "solarwinds:12:fs-02 - C:\\"
    assert event.severity == Severity.CRITICAL
    assert event.links == ()


@pytest.mark.parametrize(("raw", "severity"), SolarWindsSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    payload = load_fixture("solarwinds/firing") | {"Severity": raw}
    assert parser.parse(payload)[0].severity == severity


@pytest.mark.parametrize(
    ("raw", "severity"),
    [("Serious", Severity.CRITICAL), ("Notice", Severity.INFO), ("Informational", Severity.INFO)],
)
def test_orions_other_severity_words(load_fixture, raw, severity):
    payload = load_fixture("solarwinds/firing") | {"Severity": raw}
    assert parser.parse(payload)[0].severity == severity


@pytest.mark.parametrize(
    ("case", "field"), [("bad_status", "Status"), ("bad_missing_alert_id", "AlertID")]
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"solarwinds/{case}"))
    assert caught.value.field == field


def test_both_shipped_bodies_are_json_differing_only_in_status():
    trigger, reset = json.loads(parser.TRIGGER_TEMPLATE), json.loads(parser.RESET_TEMPLATE)
    assert (trigger.pop("Status"), reset.pop("Status")) == ("triggered", "reset")
    assert trigger == reset


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert SolarWindsSource().recognises(load_fixture("solarwinds/firing"))
    assert not SolarWindsSource().recognises(load_fixture("splunk/firing"))


def test_the_setup_guide_carries_the_push_url_and_both_bodies():
    guide = SolarWindsSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)
    assert [snippet.text for snippet in guide.snippets] == [
        parser.TRIGGER_TEMPLATE,
        parser.RESET_TEMPLATE,
    ]


@pytest.mark.django_db
def test_a_pushed_alert_opens_an_incident_and_its_reset_resolves_it(push, channel, load_fixture):
    alert = fire_then_resolve(
        push,
        channel,
        "solarwinds",
        load_fixture("solarwinds/firing"),
        load_fixture("solarwinds/recovered"),
    )
    assert alert.status == Alert.Status.RESOLVED
