"""Keep: workflow posts through the parser, the provider's test post, and pushes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.keep import parser as keep
from integrations.sources.keep.source import KeepSource
from oncall.events import EventKind, Link, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from tests.factories import AlertSourceFactory


def test_a_firing_alert_is_keyed_by_its_fingerprint(load_fixture):
    [event] = keep.parse(load_fixture("keep/firing"))

    assert (event.alert_key, event.kind) == ("b7a2c4e19f3d8a60", EventKind.FIRING)
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "high")
    assert event.title == "HighErrorRate checkout"
    assert event.description == "Error rate of checkout is 12% (threshold 5%)"
    assert event.labels == {"environment": "production", "service": "checkout"}
    assert event.links == (Link("https://grafana.example.org/d/checkout", "Keep"),)
    assert event.starts_at == datetime(2024, 5, 14, 9, 51, 3, 157000, tzinfo=UTC)


def test_resolved_resolves_the_same_alert(load_fixture):
    [event] = keep.parse(load_fixture("keep/recovered"))

    assert (event.alert_key, event.kind) == ("b7a2c4e19f3d8a60", EventKind.RESOLVED)
    assert event.ends_at == datetime(2024, 5, 14, 10, 6, 3, tzinfo=UTC)


@pytest.mark.parametrize(("word", "severity"), KeepSource.severity_table)
def test_it_maps_each_keep_severity(word, severity, load_fixture):
    payload = load_fixture("keep/firing")
    payload["severity"] = word

    [event] = keep.parse(payload)

    assert event.severity == severity


def test_the_table_is_keeps_five_severities():
    assert dict(KeepSource.severity_table) == {
        "critical": Severity.CRITICAL,
        "high": Severity.CRITICAL,
        "warning": Severity.WARNING,
        "info": Severity.INFO,
        "low": Severity.INFO,
    }


def test_placeholders_are_left_out_and_labels_kept(load_fixture):
    [event] = keep.parse(load_fixture("keep/acknowledged_placeholders"))

    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.INFO)
    assert event.description == "Only 4% free on /var"
    assert event.labels == {
        "instance": "db-2:9100",
        "mountpoint": "/var",
        "source": "['prometheus']",
    }
    assert event.links == ()


def test_a_suppressed_alert_carries_no_event(load_fixture):
    assert keep.parse(load_fixture("keep/suppressed")) == []


# The knowledge base's field set (Keep's Flashduty provider), posted by a webhook step.
KB_FIELDS = {
    "title": "Test incident",
    "event_status": "Info",
    "description": "Test description",
    "alert_key": "1234567890",
    "labels": {"service": "10.10.10.10"},
}


@pytest.mark.parametrize(
    ("status", "kind", "severity"),
    [
        ("Critical", EventKind.FIRING, Severity.CRITICAL),
        ("Warning", EventKind.FIRING, Severity.WARNING),
        ("Info", EventKind.FIRING, Severity.INFO),
        ("Ok", EventKind.RESOLVED, Severity.INFO),
    ],
)
def test_the_knowledge_bases_field_set_is_read_as_the_standard_protocol(status, kind, severity):
    [event] = keep.parse({**KB_FIELDS, "event_status": status})

    assert (event.alert_key, event.kind, event.severity) == ("1234567890", kind, severity)


BAD_CASES = {
    "bad_status": ("status", "status must be one of firing, acknowledged, pending, resolved"),
    "bad_fingerprint_empty": ("fingerprint", "fingerprint must not be empty"),
    "bad_last_received": ("lastReceived", "lastReceived is not an ISO-8601"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        keep.parse(load_fixture(f"keep/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("keep", "bad_") == sorted(BAD_CASES)


def test_it_recognises_the_workflows_body_only(load_fixture):
    assert keep.recognises(load_fixture("keep/firing"))
    assert not keep.recognises(KB_FIELDS)
    assert not keep.recognises({"test": "payload"})


@pytest.mark.django_db
def test_pushes_by_integration_key_open_an_incident_and_resolved_resolves_it(
    client, django_capture_on_commit_callbacks, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="keep")

    def post(body):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/push/?integration_key={source.token}", data=body, content_type="application/json"
            )

    assert post({"test": "payload"}).status_code == 200
    assert not InboundEvent.objects.exists()

    assert post(load_fixture("keep/firing")).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, alert.severity, Incident.objects.count()) == ("firing", "critical", 1)

    assert post(load_fixture("keep/recovered")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="keep")

    response = push(source, load_fixture("keep/bad_status"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "status"
