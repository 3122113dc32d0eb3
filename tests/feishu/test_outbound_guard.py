"""A Feishu app's API base URL goes through the core's SSRF guard: the admin and the REST API
refuse every form of an inward address, and the client refuses a row that got one anyway (written
straight to the database) before the App Secret leaves the console."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
import responses
from django.conf import settings
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.feishu.client import errors
from integrations.feishu.models import FeishuApp
from tests.factories import FeishuAppFactory
from tests.listener import Listener

pytestmark = pytest.mark.django_db

# The bypasses the old guard let through (issue #24), and a name resolving to loopback.
BYPASSES = [
    "https://127.1",
    "https://2130706433",
    "https://0x7f000001",
    "https://0",
    "https://[::ffff:127.0.0.1]",
    "https://10.0.0.5",
    "https://100.100.100.200",
    "https://169.254.169.254",
    "https://[fd00:ec2::254]",
    "https://loopback.attacker.example",
]


@pytest.fixture
def attacker_dns(fake_dns):
    fake_dns.answers["loopback.attacker.example"] = ["127.0.0.1"]
    fake_dns.answers["proxy.example.com"] = ["93.184.216.34"]
    return fake_dns


@pytest.fixture
def api(admin_user) -> APIClient:
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


@pytest.mark.parametrize("url", BYPASSES)
def test_the_admin_refuses_an_inward_api_base_url(admin_client, attacker_dns, url):
    app = FeishuAppFactory()
    form = {"name": app.name, "platform": "feishu", "app_id": app.app_id, "api_base_url": url}

    response = admin_client.post(
        reverse("admin:integrations_feishuapp_change", args=[app.pk]), form
    )

    assert response.status_code == 200
    errors_shown = response.context["adminform"].form.errors["api_base_url"]
    assert "the console does not call such addresses" in errors_shown[0]
    app.refresh_from_db()
    assert app.api_base_url == ""


@pytest.mark.parametrize("url", BYPASSES)
def test_the_api_refuses_an_inward_api_base_url(api, attacker_dns, url):
    app = FeishuAppFactory()

    response = api.patch(
        f"/api/v1/feishu-apps/{app.public_id}/", {"api_base_url": url}, format="json"
    )

    assert response.status_code == 400
    reason = response.json()["error"]["fields"]["api_base_url"][0]
    assert "the console does not call such addresses" in reason
    app.refresh_from_db()
    assert app.api_base_url == ""


def test_the_api_accepts_a_public_proxy(api, attacker_dns):
    app = FeishuAppFactory()

    response = api.patch(
        f"/api/v1/feishu-apps/{app.public_id}/",
        {"api_base_url": "https://proxy.example.com/"},
        format="json",
    )

    assert response.status_code == 200
    app.refresh_from_db()
    assert app.open_api_base == "https://proxy.example.com"


def saved_without_validation(api_base_url: str) -> FeishuApp:
    """A row that holds an inward URL anyway (an old row, a migration, a raw SQL edit)."""
    app = FeishuAppFactory(app_secret="the-app-secret-0f3a")
    FeishuApp.objects.filter(pk=app.pk).update(api_base_url=api_base_url)
    app.refresh_from_db()
    return app


def test_the_client_never_sends_the_app_secret_to_a_refused_host(settings):
    settings.DEBUG = True  # even where plain http is allowed, loopback is not
    with Listener() as listener:
        app = saved_without_validation(f"http://127.0.0.1:{listener.port}")

        with pytest.raises(errors.DestinationRefused) as caught:
            app.client().tenant_access_token()

    assert "127.0.0.1 points at a loopback address" in str(caught.value)
    assert listener.received == []  # no connection at all...
    assert b"the-app-secret-0f3a" not in listener.everything  # ... so no App Secret


@pytest.mark.parametrize("url", BYPASSES)
def test_the_client_refuses_every_bypass_without_opening_a_socket(url, attacker_dns, monkeypatch):
    app = saved_without_validation(url)
    connected: list = []
    real_connect = socket.socket.connect
    own_redis = _redis_address()

    def connect(sock, address):
        # The console's own Redis (its rate limits and cache) may be connected to, whether or
        # not an earlier test in this process did it first; nothing else may.
        if own_redis is not None and tuple(address[:2]) == own_redis:
            return real_connect(sock, address)
        connected.append(address)

    monkeypatch.setattr(socket.socket, "connect", connect)

    with pytest.raises(errors.DestinationRefused):
        app.client().tenant_access_token()

    assert connected == []


def _redis_address() -> tuple[str, int] | None:
    if not settings.REDIS_URL:
        return None
    parsed = urlsplit(settings.REDIS_URL)
    return (parsed.hostname or "127.0.0.1", parsed.port or 6379)


def test_the_client_refuses_a_name_that_resolves_to_loopback(attacker_dns):
    with Listener() as listener:
        app = saved_without_validation(f"https://loopback.attacker.example:{listener.port}")

        with pytest.raises(errors.DestinationRefused):
            app.client().send_message("chat_id", "oc_1", {"elements": []}, "uuid-1")

    assert listener.received == []
    assert attacker_dns.lookups == ["loopback.attacker.example"]


def test_check_configuration_says_the_address_is_refused(admin_client):
    app = saved_without_validation("https://0x7f000001")

    response = admin_client.post(
        reverse("admin:integrations_feishuapp_check", args=[app.pk]), follow=True
    )

    app.refresh_from_db()
    assert app.check_ok is False
    assert "0x7f000001 points at a loopback address" in app.check_message
    assert "App Secret" not in app.check_message  # the host is wrong, not the credentials
    assert "the-app-secret-0f3a" not in response.content.decode()


@responses.activate
def test_the_client_does_not_follow_a_redirect_with_the_app_secret():
    app = FeishuAppFactory()
    responses.post(
        "https://open.feishu.cn/open-apis/auth/v3/tenant_access_token/internal",
        status=307,
        headers={"Location": "https://collector.example.net/"},
    )
    collector = responses.post("https://collector.example.net/", json={"code": 0})

    with pytest.raises(errors.DestinationRefused) as caught:
        app.client().tenant_access_token()

    assert "answered with a redirect (HTTP 307)" in str(caught.value)
    assert collector.call_count == 0
