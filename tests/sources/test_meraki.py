from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.meraki import parser
from integrations.sources.meraki.source import MerakiSource
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert, InboundEvent
from oncall.sources import PushRequest, SourceRefused
from tests.factories import AlertSourceFactory
from tests.sources.push_roundtrip import fire_then_resolve

DEVICE_KEY = "meraki:stopped_reporting:Q2XX-7KJD-4RTA"


def push_request(secret: str = "") -> PushRequest:
    return PushRequest(headers={}, query={}, options={}, secret=secret, raw_body=b"")


def test_a_device_going_down_fires_with_its_place(load_fixture):
    (event,) = parser.parse(load_fixture("meraki/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        DEVICE_KEY,
        EventKind.FIRING,
        Severity.CRITICAL,
        "critical",
    )
    assert event.title == "APs went down on store14-ap-backroom"
    assert event.starts_at == datetime(2026, 12, 3, 9, 15, tzinfo=UTC)
    assert event.labels == {
        "organization": "Acme Retail",
        "network": "Store 14",
        "device": "store14-ap-backroom",
        "device_serial": "Q2XX-7KJD-4RTA",
        "device_model": "MR46",
        "alert_type_id": "stopped_reporting",
        "alert_id": "643451796765159124",
        "network_tags": "retail east",
    }
    assert [link.text for link in event.links] == ["Device", "Network"]
    assert "sharedSecret" not in str(event.to_json())
    assert "meraki-shared-1" not in str(event.to_json())


def test_the_device_coming_up_resolves_the_same_alert(load_fixture):
    (event,) = parser.parse(load_fixture("meraki/recovered"))

    assert (event.alert_key, event.kind) == (DEVICE_KEY, EventKind.RESOLVED)
    assert event.ends_at == datetime(2026, 12, 3, 9, 40, 12, tzinfo=UTC)


def test_a_network_alert_is_scoped_to_the_network_and_describes_its_data(load_fixture):
    (event,) = parser.parse(load_fixture("meraki/settings_changed_network"))

    assert event.alert_key == "meraki:settings_changed:L_646829496481105433"
    assert event.kind == EventKind.FIRING
    assert event.title == "Settings changed on Store 14"
    assert event.description.startswith("name = Firewall\nurl = /manage/configure/firewall\n")
    assert "deny tcp any 10.0.0.0/8" in event.description


@pytest.mark.parametrize(("raw", "severity"), MerakiSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    payload = load_fixture("meraki/firing") | {"alertLevel": raw}
    assert parser.parse(payload)[0].severity == severity


@pytest.mark.parametrize(
    ("case", "field"),
    [("bad_no_alert_type", "alertTypeId"), ("bad_alert_data_not_object", "alertData")],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"meraki/{case}"))
    assert caught.value.field == field


def test_a_matching_shared_secret_is_accepted(load_fixture):
    events = MerakiSource().parse_push(
        load_fixture("meraki/firing"), push_request("meraki-shared-1")
    )
    assert [event.alert_key for event in events] == [DEVICE_KEY]


@pytest.mark.parametrize("sent", ["another", ""])
def test_a_wrong_or_missing_shared_secret_is_refused_when_one_is_set(load_fixture, sent):
    payload = load_fixture("meraki/firing") | {"sharedSecret": sent}
    with pytest.raises(SourceRefused) as caught:
        MerakiSource().parse_push(payload, push_request("meraki-shared-1"))
    assert caught.value.status == 401


def test_without_a_signing_secret_any_shared_secret_is_accepted(load_fixture):
    payload = load_fixture("meraki/firing") | {"sharedSecret": "whatever"}
    assert MerakiSource().parse_push(payload, push_request())


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert MerakiSource().recognises(load_fixture("meraki/firing"))
    assert not MerakiSource().recognises(load_fixture("splunk/firing"))


def test_the_setup_guide_carries_the_push_url():
    guide = MerakiSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_pushed_device_down_opens_an_incident_and_its_coming_up_resolves_it(
    push, channel, load_fixture
):
    alert = fire_then_resolve(
        push, channel, "meraki", load_fixture("meraki/firing"), load_fixture("meraki/recovered")
    )
    assert alert.status == Alert.Status.RESOLVED


@pytest.mark.django_db
def test_a_push_with_the_wrong_shared_secret_is_refused_and_nothing_stored(
    push, channel, load_fixture
):
    source = AlertSourceFactory(channel=channel, kind="meraki", signing_secret="right")

    response = push(source, load_fixture("meraki/firing"))

    assert response.status_code == 401
    assert not InboundEvent.objects.exists()
