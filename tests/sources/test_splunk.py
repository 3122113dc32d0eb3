from __future__ import annotations

import pytest

from integrations.sources.splunk import parser
from integrations.sources.splunk.source import SplunkSource
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert
from tests.sources.push_roundtrip import fire_then_resolve


def test_a_saved_search_fires_a_warning_with_its_first_result(load_fixture):
    (event,) = parser.parse(load_fixture("splunk/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        "splunk:search:Nginx upstream timeouts",
        EventKind.FIRING,
        Severity.WARNING,
        "",
    )
    assert event.title == "Nginx upstream timeouts"
    assert event.description == (
        "sourcetype = nginx:error\nhost = web-07\ncount = 42\n"
        "2026/12/03 09:00:00 [error] 1234#0: *5 upstream timed out"
    )
    assert event.labels == {
        "app": "search",
        "owner": "admin",
        "sid": "scheduler__admin__search__RMD5e1f0b4ac2d_at_1733216400_311",
        "sourcetype": "nginx:error",
        "host": "web-07",
        "count": "42",
    }
    assert event.links[0].text == "Search results"


def test_every_run_of_one_saved_search_has_the_same_identity(load_fixture):
    (first,) = parser.parse(load_fixture("splunk/firing"))
    again = load_fixture("splunk/firing") | {"sid": "scheduler__admin__search__other_run"}
    (second,) = parser.parse(again)
    assert first.alert_key == second.alert_key


def test_a_computed_oncall_status_resolves_the_saved_searchs_alert(load_fixture):
    (fired,) = parser.parse(load_fixture("splunk/firing"))
    (resolved,) = parser.parse(load_fixture("splunk/recovered"))

    assert resolved.kind == EventKind.RESOLVED
    assert resolved.alert_key == fired.alert_key
    assert "oncall_status" not in resolved.labels


def test_an_unnamed_search_is_identified_by_its_run(load_fixture):
    (event,) = parser.parse(load_fixture("splunk/adhoc_unnamed"))

    assert event.alert_key == "splunk:sid:rt_md_1733218811.2203"
    assert event.title == "Splunk alert"
    assert event.labels["count"] == "8"


@pytest.mark.parametrize(("raw", "severity"), SplunkSource.severity_table)
def test_the_severity_a_search_computes(load_fixture, raw, severity):
    payload = load_fixture("splunk/firing")
    payload["result"]["severity"] = raw
    (event,) = parser.parse(payload)
    assert (event.severity, event.raw_severity) == (severity, raw)


def test_without_a_severity_field_every_alert_is_a_warning_as_the_knowledge_base_says(
    load_fixture,
):
    payload = load_fixture("splunk/firing")
    payload["result"]["severity"] = "sev-unknown"
    assert parser.parse(payload)[0].severity == Severity.WARNING


@pytest.mark.parametrize(
    ("case", "field"), [("bad_no_identity", "sid"), ("bad_result_not_object", "result")]
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"splunk/{case}"))
    assert caught.value.field == field


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert SplunkSource().recognises(load_fixture("splunk/firing"))
    assert not SplunkSource().recognises(load_fixture("dynatrace/firing"))
    assert not SplunkSource().recognises(None)


def test_the_setup_guide_carries_the_push_url():
    guide = SplunkSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_pushed_splunk_alert_opens_an_incident_and_a_resolving_run_resolves_it(
    push, channel, load_fixture
):
    alert = fire_then_resolve(
        push, channel, "splunk", load_fixture("splunk/firing"), load_fixture("splunk/recovered")
    )
    assert alert.status == Alert.Status.RESOLVED
    assert alert.event_count == 2


def test_a_very_long_search_name_still_gives_a_key_that_fits(load_fixture):
    payload = load_fixture("splunk/firing") | {"search_name": "errors " * 100}
    (event,) = parser.parse(payload)
    assert len(event.alert_key) <= 255
    assert event.alert_key == parser.parse(payload)[0].alert_key
