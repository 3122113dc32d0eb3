from __future__ import annotations

import json

import pytest

from integrations.sources.sentry import parser
from integrations.sources.sentry.source import SentrySource, signature
from oncall.events import EventKind, PayloadError, Severity
from oncall.models import Alert, InboundEvent, Incident
from oncall.sources import PushRequest, SourceRefused
from tests.factories import AlertSourceFactory
from tests.sources.push_roundtrip import fire_then_resolve

ISSUE_KEY = "sentry:issue:4807219934"
SECRET = "c1ient-secret-of-the-integration"


def signed(payload: dict, secret: str = SECRET, *, resource: str = "") -> PushRequest:
    body = json.dumps(payload).encode()
    headers = {"sentry-hook-signature": signature(secret, body)}
    if resource:
        headers["sentry-hook-resource"] = resource
    return PushRequest(headers=headers, query={}, options={}, secret=SECRET, raw_body=body)


def test_an_issue_alert_fires_a_warning_on_its_issue(load_fixture):
    (event,) = parser.parse(load_fixture("sentry/issue_alert_triggered"))

    assert (event.alert_key, event.kind, event.severity, event.raw_severity) == (
        ISSUE_KEY,
        EventKind.FIRING,
        Severity.WARNING,
        "triggered",
    )
    assert event.title == "TypeError: Cannot read properties of undefined (reading 'total')"
    assert event.description == (
        "checkout/cart.ts in computeTotal\nAlert rule: New errors in checkout"
    )
    assert event.labels["rule"] == "New errors in checkout"
    assert event.labels["release"] == "shop-web@2.41.0"
    assert event.labels["browser"] == "Chrome 131.0"
    assert event.links[0].href.startswith("https://acme.sentry.io/issues/4807219934/")


def test_resolving_the_issue_in_sentry_resolves_the_issue_alerts_alert(load_fixture):
    (event,) = parser.parse(load_fixture("sentry/issue_resolved"))
    assert (event.alert_key, event.kind) == (ISSUE_KEY, EventKind.RESOLVED)


def test_other_issue_actions_and_resources_give_no_event(load_fixture):
    assert parser.parse(load_fixture("sentry/issue_assigned_ignored")) == []
    installation = {"action": "created", "data": {"installation": {"uuid": "x"}}}
    assert parser.parse(installation, "installation") == []


def test_a_body_of_no_sentry_resource_is_refused():
    with pytest.raises(PayloadError) as caught:
        parser.parse({"action": "triggered", "data": {"something": "else"}})
    assert caught.value.field == "data"


def test_a_metric_alert_fires_and_its_resolved_action_resolves_it(load_fixture):
    (fired,) = parser.parse(load_fixture("sentry/metric_alert_critical"))
    (resolved,) = parser.parse(load_fixture("sentry/metric_alert_resolved"))

    assert (fired.alert_key, fired.kind, fired.severity) == (
        "sentry:metric:918273",
        EventKind.FIRING,
        Severity.CRITICAL,
    )
    assert fired.title == "Critical: p95 latency on checkout"
    assert fired.description.startswith("1732.0 p95(transaction.duration)")
    assert fired.labels["aggregate"] == "p95(transaction.duration)"
    assert (resolved.alert_key, resolved.kind) == (fired.alert_key, EventKind.RESOLVED)


@pytest.mark.parametrize(("raw", "severity"), SentrySource.severity_table)
def test_the_knowledge_base_severity_table(load_fixture, raw, severity):
    fixture = "issue_alert_triggered" if raw == "triggered" else "metric_alert_critical"
    payload = load_fixture(f"sentry/{fixture}") | {"action": raw}
    (event,) = parser.parse(payload)
    assert (event.severity, event.kind) == (severity, EventKind.FIRING)


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("bad_metric_action", "action"),
        ("bad_issue_alert_without_issue_id", "data.event.issue_id"),
        ("bad_data_not_object", "data"),
    ],
)
def test_bad_input_names_the_field(load_fixture, case, field):
    with pytest.raises(PayloadError) as caught:
        parser.parse(load_fixture(f"sentry/{case}"))
    assert caught.value.field == field


def test_a_correctly_signed_push_is_read(load_fixture):
    payload = load_fixture("sentry/metric_alert_critical")
    events = SentrySource().parse_push(payload, signed(payload, resource="metric_alert"))
    assert [event.alert_key for event in events] == ["sentry:metric:918273"]


@pytest.mark.parametrize("secret", ["another-secret", ""])
def test_a_wrongly_signed_push_is_refused_when_the_source_has_a_secret(load_fixture, secret):
    payload = load_fixture("sentry/metric_alert_critical")
    push = signed(payload, secret)
    if not secret:
        push = push._replace(headers={})
    with pytest.raises(SourceRefused) as caught:
        SentrySource().parse_push(payload, push)
    assert caught.value.status == 401


def test_the_signature_is_over_the_bytes_as_sent(load_fixture):
    payload = load_fixture("sentry/metric_alert_critical")
    push = signed(payload)
    tampered = push._replace(raw_body=push.raw_body.replace(b"918273", b"918274"))
    with pytest.raises(SourceRefused):
        SentrySource().parse_push(payload, tampered)


def test_it_recognises_its_own_payload_and_not_another(load_fixture):
    assert SentrySource().recognises(load_fixture("sentry/issue_alert_triggered"))
    assert SentrySource().recognises(load_fixture("sentry/metric_alert_resolved"))
    assert not SentrySource().recognises(load_fixture("splunk/firing"))


def test_the_setup_guide_carries_the_push_url():
    guide = SentrySource().setup_guide("https://oncall.example/push/tok")
    assert any("https://oncall.example/push/tok" in str(step) for step in guide.steps)


@pytest.mark.django_db
def test_a_pushed_issue_alert_opens_an_incident_and_resolving_the_issue_resolves_it(
    push, channel, load_fixture
):
    alert = fire_then_resolve(
        push,
        channel,
        "sentry",
        load_fixture("sentry/issue_alert_triggered"),
        load_fixture("sentry/issue_resolved"),
    )
    assert (alert.alert_key, alert.status) == (ISSUE_KEY, Alert.Status.RESOLVED)


@pytest.mark.django_db
class TestSignedPushes:
    @pytest.fixture
    def source(self, channel):
        return AlertSourceFactory(channel=channel, kind="sentry", signing_secret=SECRET)

    def post(self, client, django_capture_on_commit_callbacks, source, body, sig):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/push/{source.token}",
                data=body,
                content_type="application/json",
                headers={"Sentry-Hook-Resource": "event_alert", "Sentry-Hook-Signature": sig},
            )

    def test_a_signed_push_opens_an_incident(
        self, client, django_capture_on_commit_callbacks, source, load_fixture
    ):
        body = json.dumps(load_fixture("sentry/issue_alert_triggered")).encode()

        response = self.post(
            client, django_capture_on_commit_callbacks, source, body, signature(SECRET, body)
        )

        assert response.status_code == 200
        assert Incident.objects.count() == 1

    def test_a_badly_signed_push_gets_a_401_and_nothing_is_stored(
        self, client, django_capture_on_commit_callbacks, source, load_fixture
    ):
        body = json.dumps(load_fixture("sentry/issue_alert_triggered")).encode()

        response = self.post(
            client, django_capture_on_commit_callbacks, source, body, signature("nope", body)
        )

        assert response.status_code == 401
        assert response.json()["error"]["code"] == "invalid_signature"
        assert not InboundEvent.objects.exists()
