"""Nightingale (n9e) / Flashcat: events through the parser, and one push into an incident."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from integrations.sources.n9e import parser as n9e
from integrations.sources.n9e.source import NightingaleSource
from oncall.events import EventKind, Link, PayloadError, Severity, stable_key
from oncall.models import Alert, Incident
from tests.factories import AlertSourceFactory


def test_it_fires_an_event_with_its_hash_as_the_key(load_fixture):
    [event] = n9e.parse(load_fixture("n9e/firing"))

    assert event.alert_key == "5c1e0a7dbb0c9f4e2a61d7c3f0b8e912"
    assert event.kind == EventKind.FIRING
    assert (event.severity, event.raw_severity) == (Severity.CRITICAL, "1")
    assert event.title == "Disk usage above 90%"
    assert event.description == (
        "The data disk of the ledger host is almost full.\n"
        "Value: 93.41\n"
        'Query: disk_used_percent{path="/data"} > 90'
    )
    assert event.links == (Link("https://runbooks.example.org/disk-full", "Runbook"),)
    assert event.starts_at == datetime.fromtimestamp(1733219970, UTC)
    assert event.ends_at is None


def test_it_takes_tags_map_then_rule_fields_and_annotations_as_labels(load_fixture):
    [event] = n9e.parse(load_fixture("n9e/firing"))

    assert event.labels == {
        "__name__": "disk_used_percent",
        "ident": "ledger-db-02",
        "path": "/data",
        "rulename": "Disk usage above 90%",
        "rule_name": "Disk usage above 90%",
        "group_name": "payments",
        "cluster": "prom-sh-1",
        "target_ident": "ledger-db-02",
        "owner": "storage-team",
    }


def test_a_recovery_resolves_the_same_alert(load_fixture):
    [firing] = n9e.parse(load_fixture("n9e/firing"))
    [recovered] = n9e.parse(load_fixture("n9e/recovered"))

    assert recovered.kind == EventKind.RESOLVED
    assert recovered.alert_key == firing.alert_key
    assert recovered.ends_at == datetime.fromtimestamp(1733221800, UTC)


def test_a_repeat_notification_keeps_the_key(load_fixture):
    payload = load_fixture("n9e/firing")
    payload.update(notify_cur_number=3, trigger_value="95.0", last_sent_time=1733223000)

    [first] = n9e.parse(load_fixture("n9e/firing"))
    [repeat] = n9e.parse(payload)

    assert repeat.alert_key == first.alert_key


@pytest.mark.parametrize(
    ("sent", "severity"),
    [(1, Severity.CRITICAL), (2, Severity.WARNING), (3, Severity.INFO), ("2", Severity.WARNING)],
)
def test_it_maps_severity_by_the_knowledge_base_table(sent, severity, load_fixture):
    payload = load_fixture("n9e/firing")
    payload["severity"] = sent

    [event] = n9e.parse(payload)

    assert event.severity == severity


def test_the_table_is_the_one_the_source_declares():
    assert dict(NightingaleSource.severity_table) == {
        "1": Severity.CRITICAL,
        "2": Severity.WARNING,
        "3": Severity.INFO,
    }


def test_an_unknown_severity_is_a_warning(load_fixture):
    payload = load_fixture("n9e/firing")
    payload["severity"] = 9

    [event] = n9e.parse(payload)

    assert (event.severity, event.raw_severity) == (Severity.WARNING, "9")


def test_it_reads_every_event_of_a_list(load_fixture):
    events = n9e.parse(load_fixture("n9e/batch"))

    assert [(e.alert_key, e.severity, e.labels["ident"]) for e in events] == [
        ("a1", Severity.CRITICAL, "ledger-db-02"),
        ("a2", Severity.WARNING, "ledger-db-03"),
    ]


def test_a_v5_event_without_hash_is_keyed_by_rule_and_tags(load_fixture):
    [event] = n9e.parse(load_fixture("n9e/v5_tags_only"))

    tags = {"ident": "edge-01", "service": "nginx"}
    labels = {
        **tags,
        "rule_name": "Nginx 5xx rate",
        "cluster": "prom-sh-1",
        "target_ident": "ledger-db-02",
    }
    assert event.labels == labels
    assert event.alert_key == stable_key("n9e", "52", sorted(labels.items()))
    assert event.severity == Severity.INFO
    assert event.links == ()
    assert event.starts_at == datetime.fromtimestamp(1733220000, UTC)


BAD_CASES = {
    "bad_not_an_object": (None, "the payload must be a JSON object"),
    "bad_is_recovered_not_boolean": ("is_recovered", "is_recovered must be true or false"),
    "bad_no_identity": ("hash", "hash or rule_id is required"),
    "bad_severity_object": ("severity", "severity must be a number, not an object"),
    "bad_tag_not_string": ("tags[1]", "tags[1] must be a string, not a number"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_it_refuses_bad_input_naming_the_field(case, load_fixture):
    field, message = BAD_CASES[case]

    with pytest.raises(PayloadError) as excinfo:
        n9e.parse(load_fixture(f"n9e/{case}"))

    assert excinfo.value.field == field
    assert message in excinfo.value.message


def test_every_bad_fixture_has_an_expectation(fixture_cases):
    assert fixture_cases("n9e", "bad_") == sorted(BAD_CASES)


def test_an_empty_list_is_refused():
    with pytest.raises(PayloadError) as excinfo:
        n9e.parse([])

    assert "empty" in excinfo.value.message


def test_it_recognises_its_own_payloads_only(load_fixture):
    assert n9e.recognises(load_fixture("n9e/firing"))
    assert n9e.recognises(load_fixture("n9e/batch"))
    assert not n9e.recognises(load_fixture("grafana/unified_firing"))
    assert not n9e.recognises("junk")


@pytest.mark.django_db
def test_a_push_opens_an_incident_and_the_recovery_resolves_its_alert(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="n9e")

    assert push(source, load_fixture("n9e/firing")).status_code == 200
    assert push(source, load_fixture("n9e/firing")).status_code == 200
    alert = Alert.objects.get()
    assert (alert.status, alert.severity, Incident.objects.count()) == ("firing", "critical", 1)

    assert push(source, load_fixture("n9e/recovered")).status_code == 200
    alert.refresh_from_db()
    assert alert.status == "resolved"


@pytest.mark.django_db
def test_a_bad_push_is_a_400_naming_the_field(push, channel, load_fixture):
    source = AlertSourceFactory(channel=channel, kind="n9e")

    response = push(source, load_fixture("n9e/bad_is_recovered_not_boolean"))

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "is_recovered"
    assert not Alert.objects.exists()


def test_the_console_url_option_links_the_events_page(load_fixture):
    [event] = n9e.parse(load_fixture("n9e/recovered"), console_url="https://n9e.example.org/")

    assert event.links[-1] == Link("https://n9e.example.org/alert-his-events/40211", "Nightingale")


def test_without_the_console_url_there_is_no_event_link(load_fixture):
    [event] = n9e.parse(load_fixture("n9e/firing"))

    assert [link.text for link in event.links] == ["Runbook"]


@pytest.mark.parametrize(
    ("options", "reason"),
    [({"console_url": "n9e.local"}, "http(s) URL"), ({"colour": "red"}, "only option")],
)
def test_it_refuses_bad_options(options, reason):
    with pytest.raises(ValidationError) as excinfo:
        NightingaleSource().clean_options(options)

    assert reason in str(excinfo.value)


@pytest.mark.django_db
def test_a_push_links_the_event_with_the_sources_console_url(push, channel, load_fixture):
    source = AlertSourceFactory(
        channel=channel, kind="n9e", options={"console_url": "https://n9e.example.org"}
    )

    assert push(source, load_fixture("n9e/firing")).status_code == 200

    assert "https://n9e.example.org/alert-his-events/40211" in str(Alert.objects.get().links)
