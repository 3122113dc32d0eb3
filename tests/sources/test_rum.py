"""RUM Issue alerts: events through the parser, and one push."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.rum import parser as rum
from integrations.sources.rum.source import RUMSource
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory


def test_a_new_issue_fires_keyed_by_its_id(load_fixture):
    [event] = rum.parse(load_fixture("rum/firing"))

    assert (event.alert_key, event.kind) == ("iss_01HXT9Q5G8", EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.WARNING, "P1")
    assert event.title == "TypeError: Cannot read properties of undefined (reading 'price')"
    assert event.description == (
        "at CartSummary.render (cart-summary.tsx:48:17)\n37 error(s), 21 session(s)"
    )
    assert event.labels == {
        "application": "shop-web",
        "env": "production",
        "service": "checkout-frontend",
        "version": "3.18.2",
        "issue_type": "error",
        "priority": "P1",
    }
    assert event.links == (Link("https://console.example.org/rum/issues/iss_01HXT9Q5G8", "Issue"),)
    assert event.starts_at == datetime(2024, 5, 14, 9, 48, 40, tzinfo=UTC)


def test_closing_the_issue_resolves_its_alert(load_fixture):
    [event] = rum.parse(load_fixture("rum/recovered"))

    assert (event.alert_key, event.kind) == ("iss_01HXT9Q5G8", EventKind.RESOLVED)
    assert event.ends_at == datetime(2024, 5, 14, 12, 10, tzinfo=UTC)


@pytest.mark.parametrize(("priority", "severity"), RUMSource.severity_table)
def test_it_maps_each_priority_of_the_knowledge_base_grading(priority, severity, load_fixture):
    payload = load_fixture("rum/firing")
    payload["issue"]["priority"] = priority

    [event] = rum.parse(payload)

    assert event.severity == severity


def test_the_grading_is_p0_p1_p2():
    assert dict(RUMSource.severity_table) == {
        "P0": Severity.CRITICAL,
        "P1": Severity.WARNING,
        "P2": Severity.INFO,
    }


def test_without_priority_a_crash_is_critical(load_fixture):
    [event] = rum.parse(load_fixture("rum/reopened_crash_without_priority"))

    assert (event.alert_key, event.kind, event.severity) == (
        "iss_01HQ3",
        EventKind.FIRING,
        Severity.CRITICAL,
    )
    assert event.labels == {
        "env": "production",
        "service": "checkout-frontend",
        "issue_type": "crash",
    }
    assert event.links == ()


def test_without_priority_an_issue_older_than_seven_days_is_info(load_fixture):
    payload = load_fixture("rum/reopened_crash_without_priority")
    payload["issue"]["type"] = "error"

    assert rum.parse(payload)[0].severity == Severity.INFO


def test_without_priority_a_recent_error_is_a_warning(load_fixture):
    payload = load_fixture("rum/firing")
    payload["issue"]["priority"] = ""

    assert rum.parse(payload)[0].severity == Severity.WARNING


BAD_CASES = {
    "bad_event": ("event", "event must be one of issue.new"),
    "bad_count_not_number": ("issue.count", "issue.count must be a number, not a string"),
    "bad_no_issue": ("issue", "issue must be a JSON object, not null"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        rum.parse(load_fixture(f"rum/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("rum", "bad_") == sorted(BAD_CASES)


def test_it_recognises_issue_events_only(load_fixture):
    assert rum.recognises(load_fixture("rum/firing"))
    assert not rum.recognises(load_fixture("keep/firing"))


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_closing_resolves_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="rum")

    assert push(source, load_fixture("rum/firing")).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, Incident.objects.count()) == ("firing", 1)

    assert push(source, load_fixture("rum/recovered")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="rum")

    response = push(source, load_fixture("rum/bad_event"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "event"
