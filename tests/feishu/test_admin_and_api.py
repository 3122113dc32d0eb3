"""The Feishu app in the admin and the REST API: the guide's step-2 form, write-only secrets
(never in a page, never in plaintext in the database), the URLs to copy, the chat list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.feishu.models import FeishuApp, FeishuChat
from tests.factories import FeishuAppFactory, FeishuChatFactory, UserFactory

pytestmark = pytest.mark.django_db

SECRETS = {
    "app_secret": "S3cret-app-secret-7d1c",
    "verification_token": "V3rify-token-0a9b",
    "encrypt_key": "Encr-key-55e2",
}


@pytest.fixture
def api(admin_user) -> APIClient:
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


def raw_secret_columns() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT app_secret, verification_token, encrypt_key FROM integrations_feishuapp"
        )
        return cursor.fetchall()


def assert_no_plaintext_secret(text: str, secrets: dict = SECRETS) -> None:
    for name, value in secrets.items():
        assert value not in text, f"{name} leaked"


# --- Admin ------------------------------------------------------------------------------------


def test_the_add_form_asks_exactly_for_the_guides_step_2_fields(admin_client):
    response = admin_client.get(reverse("admin:integrations_feishuapp_add"))
    form = response.context["adminform"].form
    assert list(form.fields) == [
        "name",
        "platform",
        "app_id",
        "app_secret",
        "verification_token",
        "encrypt_key",
    ]


def test_an_admin_creates_an_app_and_the_secrets_are_encrypted_at_rest(admin_client):
    response = admin_client.post(
        reverse("admin:integrations_feishuapp_add"),
        {"name": "Feishu prod", "platform": "feishu", "app_id": "cli_a1b2", **SECRETS},
    )
    assert response.status_code == 302
    app = FeishuApp.objects.get()
    assert (app.app_secret, app.verification_token, app.encrypt_key) == tuple(SECRETS.values())
    (row,) = raw_secret_columns()
    for stored, plain in zip(row, SECRETS.values(), strict=True):
        assert stored.startswith("v1:")
        assert plain not in stored


def test_the_secrets_are_required_when_creating(admin_client):
    response = admin_client.post(
        reverse("admin:integrations_feishuapp_add"),
        {"name": "x", "platform": "feishu", "app_id": "cli_x"},
    )
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {"app_secret", "verification_token"}
    assert not FeishuApp.objects.exists()


def test_the_change_page_shows_the_urls_and_checklist_but_never_a_secret(admin_client):
    app = FeishuAppFactory(**SECRETS)
    response = admin_client.get(reverse("admin:integrations_feishuapp_change", args=[app.pk]))
    page = response.content.decode()
    assert_no_plaintext_secret(page)
    for url in (app.web_url, app.redirect_url, app.card_callback_url, app.event_callback_url):
        assert f'value="{url}"' in page
    assert page.count("data-copy-target") >= 4
    for item in (
        "im.message.receive_v1",
        "im.chat.disbanded_v1",
        "im:chat",
        "im:message",
        "contact:user.id:readonly",
        "all employees",
        "Check configuration",
        "Sync chats now",
    ):
        assert item in page


def test_blank_secrets_keep_the_stored_ones_and_new_ones_replace_them(admin_client):
    app = FeishuAppFactory(**SECRETS)
    url = reverse("admin:integrations_feishuapp_change", args=[app.pk])
    form = {
        "name": "Renamed",
        "platform": "feishu",
        "app_id": app.app_id,
        "enabled": "on",
        "app_secret": "",
        "verification_token": "",
        "encrypt_key": "",
    }
    assert admin_client.post(url, form).status_code == 302
    app.refresh_from_db()
    assert (app.name, app.app_secret, app.encrypt_key) == (
        "Renamed",
        SECRETS["app_secret"],
        SECRETS["encrypt_key"],
    )
    admin_client.post(url, {**form, "app_secret": "new-secret"})
    app.refresh_from_db()
    assert app.app_secret == "new-secret"
    assert app.verification_token == SECRETS["verification_token"]


def test_the_encrypt_key_can_be_removed(admin_client):
    app = FeishuAppFactory(**SECRETS)
    url = reverse("admin:integrations_feishuapp_change", args=[app.pk])
    form = {
        "name": app.name,
        "platform": "feishu",
        "app_id": app.app_id,
        "enabled": "on",
        "clear_encrypt_key": "on",
    }
    assert admin_client.post(url, form).status_code == 302
    app.refresh_from_db()
    assert app.encrypt_key == ""


def test_an_api_base_url_pointing_inward_is_refused(admin_client, fake_dns):
    fake_dns.answers["feishu-proxy.corp"] = ["93.184.216.34"]
    app = FeishuAppFactory()
    url = reverse("admin:integrations_feishuapp_change", args=[app.pk])
    for bad in (
        "http://feishu-proxy.corp",
        "https://127.0.0.1:8443",
        "https://169.254.169.254",
        "https://localhost",
        "https://user:pw@proxy.corp",
    ):
        form = {"name": app.name, "platform": "feishu", "app_id": app.app_id, "api_base_url": bad}
        response = admin_client.post(url, form)
        assert response.status_code == 200, bad
        assert "api_base_url" in response.context["adminform"].form.errors
    good = {
        "name": app.name,
        "platform": "feishu",
        "app_id": app.app_id,
        "api_base_url": "https://feishu-proxy.corp/",
    }
    assert admin_client.post(url, good).status_code == 302
    app.refresh_from_db()
    assert app.open_api_base == app.accounts_base == "https://feishu-proxy.corp"


def test_each_platform_has_its_hosts(settings):
    settings.FEISHU_SANDBOX_BASE_URL = "http://127.0.0.1:8000/sandbox/feishu"
    feishu = FeishuAppFactory.build(platform="feishu")
    lark = FeishuAppFactory.build(platform="lark")
    sandbox = FeishuAppFactory.build(platform="sandbox")
    assert (feishu.open_api_base, feishu.accounts_base) == (
        "https://open.feishu.cn",
        "https://accounts.feishu.cn",
    )
    assert (lark.open_api_base, lark.accounts_base) == (
        "https://open.larksuite.com",
        "https://accounts.larksuite.com",
    )
    assert sandbox.open_api_base == sandbox.accounts_base == settings.FEISHU_SANDBOX_BASE_URL


def test_the_urls_are_absolute_and_distinct_per_app(settings):
    app = FeishuAppFactory()
    assert app.event_callback_url == (f"{settings.PUBLIC_BASE_URL}/feishu/{app.public_id}/events")
    assert len({app.web_url, app.redirect_url, app.card_callback_url, app.event_callback_url}) == 4


def test_the_chat_list_shows_broken_chats(admin_client):
    app = FeishuAppFactory()
    FeishuChatFactory(app=app, name="SRE on-call")
    FeishuChatFactory(app=app, name="Old team", status=FeishuChat.Status.DISBANDED)
    page = admin_client.get(reverse("admin:integrations_feishuchat_changelist")).content.decode()
    assert "SRE on-call" in page
    assert "Old team" in page
    assert '<span class="check-failed">disbanded</span>' in page
    assert admin_client.get(reverse("admin:integrations_feishuapp_changelist")).status_code == 200


def test_the_check_buttons_need_post(admin_client):
    app = FeishuAppFactory()
    url = reverse("admin:integrations_feishuapp_check", args=[app.pk])
    assert admin_client.get(url).status_code == 405


# --- API --------------------------------------------------------------------------------------


def test_the_api_creates_an_app_with_write_only_secrets(api):
    response = api.post(
        "/api/v1/feishu-apps/",
        {"name": "Lark", "platform": "lark", "app_id": "cli_lark", **SECRETS},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert_no_plaintext_secret(response.content.decode())
    assert not {"app_secret", "verification_token", "encrypt_key"} & set(body)
    assert body["has_encrypt_key"] is True
    app = FeishuApp.objects.get(public_id=body["id"])
    assert body["urls"]["event_callback"] == app.event_callback_url
    assert app.app_secret == SECRETS["app_secret"]


def test_the_api_requires_the_secrets_on_create_and_keeps_them_on_update(api):
    response = api.post("/api/v1/feishu-apps/", {"name": "x", "app_id": "cli_x"}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"app_secret", "verification_token"}
    app = FeishuAppFactory(**SECRETS)
    response = api.patch(
        f"/api/v1/feishu-apps/{app.public_id}/",
        {"name": "New name", "app_secret": ""},
        format="json",
    )
    assert response.status_code == 200
    app.refresh_from_db()
    assert (app.name, app.app_secret) == ("New name", SECRETS["app_secret"])


def test_feishu_resources_are_staff_only(db):
    member = APIClient()
    member.force_authenticate(UserFactory(username="dana"))
    assert member.get("/api/v1/feishu-apps/").status_code == 403
    assert member.get("/api/v1/feishu-chats/").status_code == 403


def test_chats_are_listed_and_filtered_by_app_and_status(api):
    app, other = FeishuAppFactory(), FeishuAppFactory()
    FeishuChatFactory(app=app, name="A")
    FeishuChatFactory(app=app, name="B", status=FeishuChat.Status.BOT_REMOVED)
    FeishuChatFactory(app=other, name="C")
    body = api.get(f"/api/v1/feishu-chats/?app__public_id={app.public_id}").json()
    assert [c["name"] for c in body["results"]] == ["A", "B"]
    body = api.get("/api/v1/feishu-chats/?status=bot_removed").json()
    assert [c["name"] for c in body["results"]] == ["B"]


def test_the_sandbox_in_production_is_warned_about(settings):
    from integrations.feishu.system_checks import sandbox_in_production

    settings.DEBUG, settings.FEISHU_SANDBOX_ENABLED = False, True
    assert [m.id for m in sandbox_in_production(None)] == ["oncall.W101"]
    settings.FEISHU_SANDBOX_ENABLED = False
    assert sandbox_in_production(None) == []


def test_a_sandbox_on_loopback_outside_the_allow_list_is_warned_about(settings):
    from integrations.feishu.system_checks import sandbox_outside_the_allow_list

    settings.FEISHU_SANDBOX_ENABLED = True
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    for url in ("http://127.0.0.1:8000/sandbox/feishu", "http://localhost:8000/sandbox/feishu"):
        settings.FEISHU_SANDBOX_BASE_URL = url
        assert [m.id for m in sandbox_outside_the_allow_list(None)] == ["oncall.W102"]
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    assert sandbox_outside_the_allow_list(None) == []
    settings.FEISHU_SANDBOX_BASE_URL = "https://oncall.example.com/sandbox/feishu"
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    assert sandbox_outside_the_allow_list(None) == []


def test_staff_who_may_only_view_apps_cannot_check_sync_or_link_them(client):
    from django.contrib.auth.models import Permission

    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_feishuapp"))
    client.force_login(viewer)
    app = FeishuAppFactory()

    listing = client.get(reverse("admin:integrations_feishuapp_changelist")).content.decode()
    for action in ("check_configuration_action", "sync_chats_action", "link_by_email_action"):
        assert action not in listing
    for name in ("check", "sync"):
        response = client.post(reverse(f"admin:integrations_feishuapp_{name}", args=[app.pk]))
        assert response.status_code == 403
    app.refresh_from_db()
    assert app.checked_at is None
