"""The DingTalk app in the admin and the REST API: the guide's form, write-only secrets (never in a
page or an answer, never in plaintext in the database), the URLs to copy, the checklist, "Check
configuration" in DingTalk's words, and the group list."""

from __future__ import annotations

import pytest
import responses
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from integrations.dingtalk.models import DINGTALK_HOSTS, DingTalkApp
from tests.dingtalk.factories import AES_KEY, DingTalkAppFactory, DingTalkGroupFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRETS = {
    "client_secret": "Cl1ent-secret-7d1c9e0f",
    "aes_key": "o1w0aum42yaptlz8alnhwikjd3jenzt9cb9wmzptgus",
    "signature_token": "S1gnature-token-0a9b",
}
IDS = {"corp_id": "ding9f50b15b00016741", "agent_id": "3012345678", "client_id": "dingabc123xyz"}
GUIDE_FIELDS = [
    "name",
    "platform",
    "corp_id",
    "agent_id",
    "client_id",
    "client_secret",
    "aes_key",
    "signature_token",
]


@pytest.fixture
def api(admin_user) -> APIClient:
    api = APIClient()
    api.force_authenticate(admin_user)
    return api


def raw_secret_columns() -> list[tuple[str, str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret, aes_key, signature_token FROM dingtalk_dingtalkapp")
        return cursor.fetchall()


def assert_no_plaintext_secret(text: str) -> None:
    for name, value in SECRETS.items():
        assert value not in text, f"{name} leaked"


def token_url(app: DingTalkApp) -> str:
    return f"{DINGTALK_HOSTS.api}/v1.0/oauth2/{app.corp_id}/token"


def register_url(app: DingTalkApp) -> str:
    return f"{DINGTALK_HOSTS.oapi}/topapi/im/chat/scencegroup/interactivecard/callback/register"


# --- Admin ------------------------------------------------------------------------------------


def test_the_add_form_asks_exactly_for_the_guides_fields(admin_client):
    response = admin_client.get(reverse("admin:dingtalk_dingtalkapp_add"))
    assert list(response.context["adminform"].form.fields) == GUIDE_FIELDS


def test_an_admin_creates_an_app_and_the_secrets_are_encrypted_at_rest(admin_client):
    response = admin_client.post(
        reverse("admin:dingtalk_dingtalkapp_add"),
        {"name": "DingTalk prod", "platform": "dingtalk", **IDS, **SECRETS},
    )
    assert response.status_code == 302
    app = DingTalkApp.objects.get()
    assert (app.client_secret, app.aes_key, app.signature_token) == tuple(SECRETS.values())
    assert (app.corp_id, app.agent_id, app.client_id) == tuple(IDS.values())
    assert app.api_plan == "standard"
    (row,) = raw_secret_columns()
    for stored, plain in zip(row, SECRETS.values(), strict=True):
        assert stored.startswith("v1:")
        assert plain not in stored


def test_the_secrets_are_required_when_creating(admin_client):
    response = admin_client.post(
        reverse("admin:dingtalk_dingtalkapp_add"), {"name": "x", "platform": "dingtalk", **IDS}
    )
    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == set(SECRETS)
    assert not DingTalkApp.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("aes_key", AES_KEY[:-1]),
        ("aes_key", AES_KEY[:-1] + "="),
        ("agent_id", "30a1"),
        ("corp_id", "ding 9f50"),
        ("client_id", "ding/abc"),
    ],
)
def test_a_value_dingtalk_cannot_have_given_is_refused(admin_client, field, value):
    form = {"name": "x", "platform": "dingtalk", **IDS, **SECRETS, field: value}
    response = admin_client.post(reverse("admin:dingtalk_dingtalkapp_add"), form)
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not DingTalkApp.objects.exists()


def test_the_change_page_shows_the_urls_checklist_and_button_but_never_a_secret(admin_client):
    app = DingTalkAppFactory(**SECRETS)
    response = admin_client.get(reverse("admin:dingtalk_dingtalkapp_change", args=[app.pk]))
    page = response.content.decode()
    assert_no_plaintext_secret(page)
    for url in (app.event_url, app.homepage_url, app.pc_homepage_url, app.cool_app_url):
        assert f'value="{url}"' in page
    assert page.count("data-copy-target") >= 4
    assert "oncall/copy.js" in page
    for item in (
        "HTTP Push",
        "chat_update_title",
        "im_cool_app_install",
        "im_cool_app_uninstall",
        "Group Quick Access",
        "Message Card",
        "Bot (机器人)",
        "qyapi_chat_manage",
        "qyapi_robot_sendmsg",
        "qyapi_chat_read",
        "qyapi_chat_base_read",
        "qyapi_get_member_by_mobile",
        "Template ID",
        "Bot ID",
        "all employees",
        "Check configuration",
        "10,000 calls a month, 20 a second",
    ):
        assert item in page, item


def test_the_change_page_speaks_chinese(admin_client):
    app = DingTalkAppFactory(**SECRETS)
    admin_client.post("/i18n/setlang/", {"language": "zh-hans"})
    page = admin_client.get(reverse("admin:dingtalk_dingtalkapp_change", args=[app.pk]))
    text = page.content.decode()
    assert "事件订阅请求地址" in text
    assert "检查配置" in text
    assert "酷应用" in text
    assert "qyapi_chat_manage" in text


def test_blank_secrets_keep_the_stored_ones_and_new_ones_replace_them(admin_client):
    app = DingTalkAppFactory(**SECRETS)
    url = reverse("admin:dingtalk_dingtalkapp_change", args=[app.pk])
    form = {
        "name": "Renamed",
        "platform": "dingtalk",
        "corp_id": app.corp_id,
        "agent_id": app.agent_id,
        "client_id": app.client_id,
        "enabled": "on",
        "client_secret": "",
        "aes_key": "",
        "signature_token": "",
        "event_mode": "stream",
        "war_room_template_id": "tpl-001",
        "war_room_bot_id": "bot-002",
        "api_plan": "professional",
        "api_base_url": "",
    }
    assert admin_client.post(url, form).status_code == 302
    app.refresh_from_db()
    assert (app.name, app.client_secret, app.aes_key, app.signature_token) == (
        "Renamed",
        *SECRETS.values(),
    )
    assert (app.war_room_template_id, app.war_room_bot_id, app.api_plan, app.event_mode) == (
        "tpl-001",
        "bot-002",
        "professional",
        "stream",
    )
    assert admin_client.post(url, form | {"signature_token": "new-token-1"}).status_code == 302
    app.refresh_from_db()
    assert app.signature_token == "new-token-1"


def test_an_api_base_url_pointing_inward_is_refused(admin_client):
    app = DingTalkAppFactory()
    url = reverse("admin:dingtalk_dingtalkapp_change", args=[app.pk])
    form = {
        "name": app.name,
        "platform": "dingtalk",
        "corp_id": app.corp_id,
        "agent_id": app.agent_id,
        "client_id": app.client_id,
        "api_plan": "standard",
        "api_base_url": "http://169.254.169.254",
    }
    response = admin_client.post(url, form)
    assert response.status_code == 200
    assert "api_base_url" in response.context["adminform"].form.errors


def test_the_check_button_needs_post(admin_client):
    app = DingTalkAppFactory()
    url = reverse("admin:dingtalk_dingtalkapp_check", args=[app.pk])
    assert admin_client.get(url).status_code == 405


@responses.activate
def test_the_check_button_reports_that_the_credentials_work(admin_client):
    app = DingTalkAppFactory()
    DingTalkGroupFactory(app=app)
    responses.post(token_url(app), json={"access_token": "t-1", "expires_in": 7200})
    responses.post(register_url(app), json={"errcode": 0, "errmsg": "ok"})

    response = admin_client.post(
        reverse("admin:dingtalk_dingtalkapp_check", args=[app.pk]), follow=True
    )

    (message,) = [str(m) for m in response.context["messages"]]
    assert "Credentials work" in message
    assert "has not checked the event subscription request URL yet" in message
    assert "installed in 1 group." in message
    app.refresh_from_db()
    assert (app.check_ok, app.checked_at is not None) == (True, True)


@responses.activate
def test_the_check_says_what_dingtalks_refusal_means(admin_client):
    app = DingTalkAppFactory(**SECRETS)
    responses.post(
        token_url(app),
        status=400,
        json={"code": "invalid.client", "message": "invalid.client", "requestid": "A1"},
    )
    admin_client.post(reverse("admin:dingtalk_dingtalkapp_check", args=[app.pk]))
    app.refresh_from_db()
    assert app.check_ok is False
    assert "invalid.client" in app.check_message
    assert "Credentials & Basic Info" in app.check_message
    page = admin_client.get(reverse("admin:dingtalk_dingtalkapp_change", args=[app.pk]))
    assert "check-failed" in page.content.decode()
    assert_no_plaintext_secret(page.content.decode())


@responses.activate
def test_the_check_action_reports_each_app(admin_client):
    apps = [DingTalkAppFactory(), DingTalkAppFactory()]
    for app in apps:
        responses.post(token_url(app), json={"access_token": f"t-{app.pk}", "expires_in": 7200})
        responses.post(register_url(app), json={"errcode": 0, "errmsg": "ok"})
    response = admin_client.post(
        reverse("admin:dingtalk_dingtalkapp_changelist"),
        {"action": "check_configuration_action", "_selected_action": [a.pk for a in apps]},
        follow=True,
    )
    assert len(list(response.context["messages"])) == 2
    assert DingTalkApp.objects.filter(check_ok=True).count() == 2


def test_staff_who_may_only_view_apps_cannot_check_them(client):
    viewer = UserFactory(is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dingtalkapp"))
    client.force_login(viewer)
    app = DingTalkAppFactory()
    listing = client.get(reverse("admin:dingtalk_dingtalkapp_changelist"))
    assert listing.status_code == 200
    assert "check_configuration_action" not in listing.content.decode()
    response = client.post(reverse("admin:dingtalk_dingtalkapp_check", args=[app.pk]))
    assert response.status_code == 403
    app.refresh_from_db()
    assert app.checked_at is None


def test_the_group_list_shows_broken_groups_and_cannot_be_edited(admin_client):
    DingTalkGroupFactory(name="SRE", status="active")
    DingTalkGroupFactory(name="Old team", status="uninstalled")
    page = admin_client.get(reverse("admin:dingtalk_dingtalkgroup_changelist")).content.decode()
    assert "Old team" in page
    assert "cool app uninstalled" in page
    assert admin_client.get(reverse("admin:dingtalk_dingtalkgroup_add")).status_code == 403


# --- Where calls go, and the URLs ---------------------------------------------------------------


def test_each_platform_has_its_hosts(settings):
    settings.DINGTALK_SANDBOX_BASE_URL = "http://127.0.0.1:8000/sandbox/dingtalk"
    assert DingTalkAppFactory.build().credentials().api_base == "https://api.dingtalk.com"
    assert DingTalkAppFactory.build().credentials().oapi_base == "https://oapi.dingtalk.com"
    sandbox = DingTalkAppFactory.build(platform="sandbox").credentials()
    assert sandbox.api_base == sandbox.oapi_base == "http://127.0.0.1:8000/sandbox/dingtalk"
    proxied = DingTalkAppFactory.build(api_base_url="https://egress.example.com/dingtalk/")
    assert proxied.hosts.api == proxied.hosts.login == "https://egress.example.com/dingtalk"


def test_the_urls_are_absolute_and_distinct_per_app():
    first, second = DingTalkAppFactory(), DingTalkAppFactory()
    urls = [first.event_url, first.homepage_url, first.pc_homepage_url, first.cool_app_url]
    assert all(url.startswith("https://oncall.example.com/dingtalk/") for url in urls)
    assert len(set(urls)) == 4
    assert str(first.public_id) in first.event_url
    assert first.event_url != second.event_url


def test_the_web_entries_start_the_sign_in_with_dingtalk(client):
    # Where the person lands afterwards (``next``, same site only): tests/dingtalk/test_linking.py.
    app = DingTalkAppFactory()
    for url in (app.homepage_url, app.pc_homepage_url, app.cool_app_url):
        path = url.removeprefix("https://oncall.example.com")
        location = client.get(path, {"next": "/incidents/"})["Location"]
        assert location.startswith("https://login.dingtalk.com/oauth2/auth?")
        assert f"client_id={app.client_id}" in location


def test_a_disabled_apps_web_entry_is_not_found(client):
    app = DingTalkAppFactory(enabled=False)
    assert (
        client.get(app.homepage_url.removeprefix("https://oncall.example.com")).status_code == 404
    )


# --- REST API -----------------------------------------------------------------------------------


def test_the_api_creates_an_app_with_write_only_secrets(api):
    response = api.post(
        "/api/v1/dingtalk-apps/", {"name": "DingTalk", "platform": "dingtalk", **IDS, **SECRETS}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert_no_plaintext_secret(response.content.decode())
    assert not set(SECRETS) & set(body)
    app = DingTalkApp.objects.get()
    assert app.client_secret == SECRETS["client_secret"]
    assert body["urls"] == {
        "event_subscription": app.event_url,
        "homepage": app.homepage_url,
        "pc_homepage": app.pc_homepage_url,
        "cool_app": app.cool_app_url,
        "oauth_redirect": app.oauth_redirect_url,
    }
    assert body["event_mode"] == "http"
    assert body["api_limits"] == {"calls_per_month": 10000, "calls_per_second": 20}
    assert body["last_check"] is None
    assert body["event_subscription"] == {"url_verified_at": None, "last_event_at": None}


def test_the_api_requires_the_secrets_on_create_and_keeps_them_on_update(api):
    response = api.post("/api/v1/dingtalk-apps/", {"name": "x", "platform": "dingtalk", **IDS})
    assert response.status_code == 400
    assert set(SECRETS) <= set(response.json()["error"]["fields"])

    app = DingTalkAppFactory(**SECRETS)
    url = f"/api/v1/dingtalk-apps/{app.public_id}/"
    response = api.patch(url, {"name": "Renamed", "client_secret": "", "api_plan": "exclusive"})
    assert response.status_code == 200, response.content
    assert response.json()["api_limits"] == {"calls_per_month": 5500000, "calls_per_second": 60}
    app.refresh_from_db()
    assert (app.name, app.client_secret, app.aes_key) == (
        "Renamed",
        SECRETS["client_secret"],
        SECRETS["aes_key"],
    )


def test_the_api_refuses_an_aes_key_dingtalk_cannot_have_given(api):
    response = api.post(
        "/api/v1/dingtalk-apps/",
        {"name": "x", "platform": "dingtalk", **IDS, **SECRETS, "aes_key": "short"},
    )
    assert response.status_code == 400
    assert "aes_key" in response.json()["error"]["fields"]


@responses.activate
def test_the_api_checks_the_configuration(api):
    app = DingTalkAppFactory()
    responses.post(
        token_url(app),
        status=401,
        json={"code": "unauthorized.client", "message": "unauthorized.client"},
    )
    response = api.post(f"/api/v1/dingtalk-apps/{app.public_id}/check/")
    assert response.status_code == 200
    assert response.json()["ok"] is False
    assert "CorpId" in response.json()["message"]
    body = api.get(f"/api/v1/dingtalk-apps/{app.public_id}/").json()
    assert body["last_check"]["ok"] is False


def test_dingtalk_resources_are_staff_only(db):
    api = APIClient()
    api.force_authenticate(UserFactory())
    assert api.get("/api/v1/dingtalk-apps/").status_code == 403
    assert api.get("/api/v1/dingtalk-groups/").status_code == 403


def test_staff_with_the_view_permission_read_but_do_not_write(db):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_dingtalkapp"))
    api = APIClient()
    api.force_authenticate(staff)
    assert api.get("/api/v1/dingtalk-apps/").status_code == 200
    response = api.post("/api/v1/dingtalk-apps/", {"name": "x", **IDS, **SECRETS})
    assert response.status_code == 403
    app = DingTalkAppFactory()
    assert api.post(f"/api/v1/dingtalk-apps/{app.public_id}/check/").status_code == 403
    assert api.patch(f"/api/v1/dingtalk-apps/{app.public_id}/", {"name": "x"}).status_code == 403


def test_groups_are_listed_and_filtered_by_app_and_status(api):
    app = DingTalkAppFactory()
    DingTalkGroupFactory(app=app, name="SRE", status="active")
    DingTalkGroupFactory(app=app, name="Old", status="uninstalled")
    DingTalkGroupFactory(name="Elsewhere")
    listed = api.get("/api/v1/dingtalk-groups/", {"app__public_id": str(app.public_id)}).json()
    assert sorted(g["name"] for g in listed["results"]) == ["Old", "SRE"]
    broken = api.get("/api/v1/dingtalk-groups/", {"status": "uninstalled"}).json()
    assert [g["name"] for g in broken["results"]] == ["Old"]
    assert broken["results"][0]["app"] == str(app.public_id)
