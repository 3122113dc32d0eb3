"""ElastAlert 2: post2 and flashduty alerter bodies through the parser, and pushes."""

from __future__ import annotations

import pytest

from integrations.sources.common import integration_key_url
from integrations.sources.elastalert2 import parser as elastalert
from integrations.sources.elastalert2.source import ElastAlert2Source
from oncall.events import EventKind, PayloadError, Severity, stable_key
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory

KEY = stable_key("elastalert2", "Nginx 5xx burst", [("host", "web-04"), ("service", "nginx")])

# What ElastAlert 2's flashduty alerter posts (elastalert/alerters/flashduty.py) for a rule that
# sets title, event_status, check and resource: the standard protocol, so no fixture.
FLASHDUTY_ALERTER = {
    "title": "elastalert2 alert",
    "description": None,
    "event_status": "Warning",
    "alert_key": None,
    "labels": {
        "check": "log error",
        "service": None,
        "cluster": None,
        "resource": "10.1.1.1",
        "metric": None,
        "group": None,
        "env": None,
        "app": None,
        "information": "elastalert2 alert\n\nAt least 1 events occurred between ...",
    },
}


def test_a_post2_alert_fires_keyed_by_rule_and_labels(load_fixture):
    [event] = elastalert.parse(load_fixture("elastalert2/firing"))

    assert (event.alert_key, event.kind) == (KEY, EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.WARNING, "Warning")
    assert event.title == "Nginx 5xx burst on web-04"
    assert event.description.startswith("upstream timed out")
    assert event.labels == {"host": "web-04", "service": "nginx"}


def test_ok_resolves_the_same_alert(load_fixture):
    [event] = elastalert.parse(load_fixture("elastalert2/recovered"))

    assert (event.alert_key, event.kind) == (KEY, EventKind.RESOLVED)


@pytest.mark.parametrize(("status", "severity"), ElastAlert2Source.severity_table)
def test_it_maps_each_status_of_the_knowledge_base_table(status, severity, load_fixture):
    payload = load_fixture("elastalert2/firing")
    payload["alert_status"] = status

    [event] = elastalert.parse(payload)

    assert (event.severity, event.kind) == (severity, EventKind.FIRING)


def test_the_table_is_critical_warning_info():
    assert dict(ElastAlert2Source.severity_table) == {
        "Critical": Severity.CRITICAL,
        "Warning": Severity.WARNING,
        "Info": Severity.INFO,
    }


def test_an_own_key_raw_numbers_and_null_labels(load_fixture):
    [event] = elastalert.parse(load_fixture("elastalert2/alert_key_and_raw_fields"))

    assert (event.alert_key, event.severity) == ("payments-gw-eu", Severity.CRITICAL)
    assert event.title == "Payment errors"
    assert event.labels == {"gateway": "eu", "error_count": "57"}


def test_the_flashduty_alerters_body_is_read_without_its_null_labels():
    [event] = elastalert.parse(FLASHDUTY_ALERTER)

    labels = {"check": "log error", "resource": "10.1.1.1"}
    assert event.labels == labels
    assert event.alert_key == stable_key("elastalert2", "elastalert2 alert", sorted(labels.items()))
    assert event.description.startswith("elastalert2 alert\n\nAt least 1 events")
    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)


def test_a_new_match_text_keeps_the_key():
    again = {**FLASHDUTY_ALERTER, "labels": {**FLASHDUTY_ALERTER["labels"], "information": "x"}}

    assert elastalert.parse(again)[0].alert_key == elastalert.parse(FLASHDUTY_ALERTER)[0].alert_key


def test_the_flashduty_alerter_refuses_a_bad_event_status():
    with pytest.raises(PayloadError) as excinfo:
        elastalert.parse({**FLASHDUTY_ALERTER, "event_status": "Major"})

    assert excinfo.value.field == "event_status"


BAD_CASES = {
    "bad_alert_status": ("alert_status", "alert_status must be Critical, Warning, Info or Ok"),
    "bad_labels_not_object": ("labels", "labels must be an object of string values, not an array"),
    "bad_no_title": ("alert_subject", "alert_subject (or title, or elastalert_rule) is required"),
    "bad_alert_key_too_long": ("alert_key", "alert_key is 300 characters long"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        elastalert.parse(load_fixture(f"elastalert2/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("elastalert2", "bad_") == sorted(BAD_CASES)


def test_it_recognises_the_post2_body_only(load_fixture):
    assert elastalert.recognises(load_fixture("elastalert2/firing"))
    assert not elastalert.recognises(FLASHDUTY_ALERTER)
    assert not elastalert.recognises(load_fixture("standard/firing"))


def test_the_guide_gives_the_query_string_url_in_the_rule():
    guide = ElastAlert2Source().setup_guide("https://oncall.example.org/push/T0KEN")

    [rule] = guide.snippets
    assert 'http_post2_url: "https://oncall.example.org/push/?integration_key=T0KEN"' in rule.text
    assert 'alert_subject: "Nginx 5xx burst on {{ host.name }}"' in rule.text
    assert integration_key_url("https://oncall.example.org/push/T0KEN") in str(guide.steps[0])


@pytest.mark.django_db
def test_pushes_by_integration_key_open_an_incident_and_ok_resolves_it(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="elastalert2")

    def post(case):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/push/?integration_key={source.token}",
                data=load_fixture(f"elastalert2/{case}"),
                content_type="application/json",
            )

    assert post("firing").status_code == 200
    assert post("firing").status_code == 200
    alert = Alert.objects.get()
    assert (alert.alert_key, alert.status, Incident.objects.count()) == (KEY, "firing", 1)

    assert post("recovered").status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="elastalert2")

    response = push(source, load_fixture("elastalert2/bad_alert_status"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "alert_status"
