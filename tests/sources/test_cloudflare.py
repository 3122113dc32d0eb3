from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integrations.sources.cloudflare import parser
from integrations.sources.cloudflare.source import CloudflareSource
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert
from oncall.sources import PushRequest, SourceRefused
from tests.sources.push_roundtrip import fire_then_resolve

CORRELATION = "cloudflare:7c0d2f64-8f15-4b5e-a9d1-3e6b2c9f0a11"
TEST_MESSAGE = {
    "name": "Test webhook",
    "text": "Hello World! This is a test message sent from https://cloudflare.com.",
}


def push_request(secret: str = "", header: str | None = None) -> PushRequest:
    headers = {"cf-webhook-auth": header} if header is not None else {}
    return PushRequest(headers=headers, query={}, options={}, secret=secret, raw_body=b"")


def test_an_alert_start_fires_as_a_warning(load_fixture):
    (event,) = parser.parse(load_fixture("cloudflare/firing"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        CORRELATION,
        EventKind.FIRING,
        Severity.WARNING,
        "http_alert_origin_error",
    )
    assert event.title == "Origin errors on shop.example.com: http_alert_origin_error"
    assert event.description.startswith("Cloudflare is observing an elevated rate")
    assert event.starts_at == datetime.fromtimestamp(1764753300, tz=UTC)
    assert event.labels == {
        "alert_type": "http_alert_origin_error",
        "account_id": "4e5b1d9a0c7f2e3b6a8d9c0f1e2d3c4b",
        "policy_id": "0f6f0a7e-5b9d-4c47-9c3e-1a2b3c4d5e6f",
        "policy_name": "Origin errors on shop.example.com",
        "zones": "shop.example.com",
        "alert_name": "Origin error rate",
        "error_rate": "0.124",
        "status": "firing",
    }


def test_the_alert_end_resolves_the_same_alert(load_fixture):
    (event,) = parser.parse(load_fixture("cloudflare/recovered"))

    assert (event.alert_key, event.kind) == (CORRELATION, EventKind.RESOLVED)
    assert event.ends_at == datetime.fromtimestamp(1764754500, tz=UTC)


def test_a_one_shot_notification_merges_per_policy_and_type(load_fixture):
    (event,) = parser.parse(load_fixture("cloudflare/ddos_one_shot"))

    assert event.alert_key == "cloudflare:b3c4d5e6-0000-4a1b-8c2d-9e8f7a6b5c4d:dos_attack_l7"
    assert event.labels["requests_per_second"] == "48000"
    assert "attack_details" not in event.labels


@pytest.mark.parametrize(("raw", "severity"), CloudflareSource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    assert parser.parse(load_fixture("cloudflare/ddos_one_shot"))[0].severity == severity
    assert parser.parse(load_fixture("cloudflare/firing"))[0].severity == severity


@pytest.mark.parametrize(
    ("case", "field"), [("bad_no_alert_type", "alert_type"), ("bad_ts_not_number", "ts")]
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"cloudflare/{case}"))
    assert caught.value.field == field


def test_the_test_message_is_answered_without_an_event(load_fixture):
    source = CloudflareSource()

    answer = source.handshake(TEST_MESSAGE, push_request())

    assert answer is not None
    assert answer.status == 200
    assert source.handshake(load_fixture("cloudflare/firing"), push_request()) is None
    assert source.handshake(load_fixture("splunk/firing"), push_request()) is None


@pytest.mark.parametrize("header", [None, "wrong"])
def test_a_missing_or_wrong_webhook_secret_is_refused_when_one_is_set(load_fixture, header):
    with pytest.raises(SourceRefused) as caught:
        CloudflareSource().parse_push(load_fixture("cloudflare/firing"), push_request("s3", header))
    assert caught.value.status == 401


def test_the_right_webhook_secret_is_accepted(load_fixture):
    events = CloudflareSource().parse_push(
        load_fixture("cloudflare/firing"), push_request("s3", "s3")
    )
    assert [event.alert_key for event in events] == [CORRELATION]


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert CloudflareSource().recognises(load_fixture("cloudflare/firing"))
    assert not CloudflareSource().recognises(load_fixture("meraki/firing"))


def test_the_setup_guide_carries_the_push_url():
    guide = CloudflareSource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_pushed_alert_opens_an_incident_and_its_end_resolves_it(push, channel, load_fixture):
    alert = fire_then_resolve(
        push,
        channel,
        "cloudflare",
        load_fixture("cloudflare/firing"),
        load_fixture("cloudflare/recovered"),
    )
    assert alert.status == Alert.Status.RESOLVED
