"""/api/v1/webhooks/: configuration with the admin's model permissions, the secret shown once,
rotation, test events, deliveries and "send again"; bad input and inward URLs get a 400 with
the reason, at save; an inward URL that reached the row anyway is refused at send."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from oncall.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.factories import ChannelFactory, UserFactory, staff_user
from tests.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db

# The spellings of loopback and metadata addresses (the guard's own tests,
# tests/test_outbound.py, cover many more at its level).
INWARD_URLS = [
    "https://127.1/hooks",
    "https://2130706433/hooks",
    "https://0x7f000001/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://loopback.example.com/hooks",  # a name that resolves to 127.0.0.1
]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def admin_api():
    return client_for(
        staff_user(
            "stan",
            "oncall.view_webhookendpoint",
            "oncall.add_webhookendpoint",
            "oncall.change_webhookendpoint",
            "oncall.delete_webhookendpoint",
        )
    )


@pytest.fixture
def no_allow_list(settings, fake_dns):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    fake_dns.answers["loopback.example.com"] = ["127.0.0.1"]
    fake_dns.answers["hooks.example.com"] = ["93.184.216.34"]
    return fake_dns


def test_creating_answers_the_secret_once(admin_api, receiver):
    created = admin_api.post(
        "/api/v1/webhooks/",
        {"name": "Status page", "url": receiver.url, "headers": {"X-Team": "payments"}},
        format="json",
    )

    assert created.status_code == 201, created.content
    assert created.data["secret"].startswith("whsec_")
    assert created.data["event_types"] == [choice for choice in created.data["event_types"]]
    assert created.data["header_names"] == ["X-Team"]
    assert "headers" not in created.data
    shown = admin_api.get(f"/api/v1/webhooks/{created.data['id']}/")
    assert "secret" not in shown.data
    assert WebhookEndpoint.objects.get().secret == created.data["secret"]


def test_rotating_answers_the_new_secret_and_the_overlap(admin_api, receiver):
    endpoint, old = make_endpoint(receiver.url)

    rotated = admin_api.post(f"/api/v1/webhooks/{endpoint.public_id}/rotate-secret/")

    assert rotated.status_code == 200
    endpoint.refresh_from_db()
    assert rotated.data["secret"] == endpoint.secret != old
    assert endpoint.signing_secrets() == [endpoint.secret, old]
    assert rotated.data["previous_secret_valid_until"] is not None


def test_a_test_event_and_its_delivery_are_shown_and_can_be_sent_again(
    admin_api, receiver, django_capture_on_commit_callbacks
):
    endpoint, secret = make_endpoint(receiver.url)
    receiver.secrets.append(secret)

    with django_capture_on_commit_callbacks(execute=True):
        queued = admin_api.post(f"/api/v1/webhooks/{endpoint.public_id}/test/")
    assert queued.status_code == 202
    listed = admin_api.get(f"/api/v1/webhooks/{endpoint.public_id}/deliveries/?status=delivered")
    assert listed.status_code == 200
    [row] = listed.data["results"]
    assert row["event_type"] == "test"
    assert row["attempts_made"][0]["status_code"] == 200
    assert row["attempts_made"][0]["response_body"] == "ok"

    with django_capture_on_commit_callbacks(execute=True):
        again = admin_api.post(
            f"/api/v1/webhooks/{endpoint.public_id}/deliveries/{row['id']}/redeliver/"
        )
    assert again.status_code == 202
    assert WebhookDelivery.objects.filter(status="delivered").count() == 2
    assert len(receiver.received) == 2
    missing = admin_api.post(f"/api/v1/webhooks/{endpoint.public_id}/deliveries/999999/redeliver/")
    assert missing.status_code == 404


@pytest.mark.parametrize("url", INWARD_URLS)
def test_an_inward_url_is_refused_at_save_with_the_reason(admin_api, no_allow_list, url):
    refused = admin_api.post("/api/v1/webhooks/", {"name": "x", "url": url}, format="json")

    assert refused.status_code == 400, refused.data
    assert "does not call such addresses" in " ".join(refused.data["error"]["fields"]["url"])
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url", INWARD_URLS)
def test_an_inward_url_is_refused_at_send_without_a_connection(
    no_allow_list, url, django_capture_on_commit_callbacks, monkeypatch
):
    """A row whose URL was inward (written past the validation, or a name whose DNS answer
    changed since) fails for good at send, before any socket connects."""
    import socket

    from oncall.webhooks import delivery

    endpoint, _ = make_endpoint("https://hooks.example.com/in")
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=url)
    endpoint.refresh_from_db()
    connects: list = []
    monkeypatch.setattr(socket.socket, "connect", lambda *args: connects.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        sent = delivery.send_test_event(endpoint)

    sent.refresh_from_db()
    assert sent.status == "failed"
    assert sent.attempts == 1
    assert "does not call such addresses" in WebhookAttempt.objects.get().error
    assert connects == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "url": "ftp://hooks.example.com/"}, "url"),
        ({"name": "x", "url": "https://user:pw@hooks.example.com/"}, "url"),
        (
            {"name": "x", "url": "https://hooks.example.com/", "event_types": ["i_bogus"]},
            "event_types",
        ),
        ({"name": "x", "url": "https://hooks.example.com/", "event_types": []}, "event_types"),
        (
            {"name": "x", "url": "https://hooks.example.com/", "headers": {"Bad Name": "v"}},
            "headers",
        ),
        (
            {"name": "x", "url": "https://hooks.example.com/", "headers": {"X-A": "a\r\nb: c"}},
            "headers",
        ),
        (
            {"name": "x", "url": "https://hooks.example.com/", "headers": {"webhook-id": "1"}},
            "headers",
        ),
        ({"name": "x", "url": "https://hooks.example.com/", "all_channels": False}, "channels"),
        ({"url": "https://hooks.example.com/"}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(admin_api, no_allow_list, body, field):
    refused = admin_api.post("/api/v1/webhooks/", body, format="json")

    assert refused.status_code == 400
    assert field in refused.data["error"]["fields"]
    assert not WebhookEndpoint.objects.exists()


def test_an_endpoint_may_cover_some_channels(admin_api, no_allow_list):
    web = ChannelFactory(name="Web")

    created = admin_api.post(
        "/api/v1/webhooks/",
        {
            "name": "Web only",
            "url": "https://hooks.example.com/in?team=web",
            "all_channels": False,
            "channels": [str(web.public_id)],
            "event_types": ["i_new", "i_rslv"],
        },
        format="json",
    )

    assert created.status_code == 201, created.content
    assert list(WebhookEndpoint.objects.get().channels.all()) == [web]


def test_it_takes_the_admins_model_permissions(receiver):
    endpoint, _ = make_endpoint(receiver.url)
    responder = client_for(UserFactory(username="rita"))
    viewer = client_for(staff_user("vic", "oncall.view_webhookendpoint"))

    assert responder.get("/api/v1/webhooks/").status_code == 403
    assert viewer.get("/api/v1/webhooks/").status_code == 200
    assert viewer.post(f"/api/v1/webhooks/{endpoint.public_id}/rotate-secret/").status_code == 403
    assert viewer.post(f"/api/v1/webhooks/{endpoint.public_id}/test/").status_code == 403
    assert viewer.delete(f"/api/v1/webhooks/{endpoint.public_id}/").status_code == 403


def test_enabling_again_clears_the_notice(admin_api, receiver):
    endpoint, _ = make_endpoint(receiver.url, enabled=False)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(disabled_reason="Disabled: failing")

    enabled = admin_api.patch(
        f"/api/v1/webhooks/{endpoint.public_id}/", {"enabled": True}, format="json"
    )

    assert enabled.status_code == 200
    assert enabled.data["disabled_reason"] == ""
