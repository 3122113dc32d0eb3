"""Account linking: the app's homepage URL runs DingTalk's sign-in (allauth's OAuth2 classes,
one provider per app) against the sandbox over HTTP (the live server plays DingTalk and the
console); the first visit links the console account, later visits are login-free, deep links
survive, and states, codes and other apps' callbacks are refused."""

from __future__ import annotations

import gc
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.urls import reverse

from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkAccount, DingTalkApp
from integrations.dingtalk_sandbox.management.commands import dingtalk_sandbox_seed
from integrations.dingtalk_sandbox.models import SandboxApp, SandboxUser

pytestmark = pytest.mark.django_db

DEEP_LINK = "/incidents/?status=triggered"


@pytest.fixture
def live(_drained_live_server, settings):  # the sandbox tenant plugin's (tests/conftest.py)
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
    settings.PUBLIC_BASE_URL = _drained_live_server.url
    settings.DINGTALK_SANDBOX_BASE_URL = _drained_live_server.url + "/sandbox/dingtalk"
    yield _drained_live_server.url
    gc.collect()  # close kept-alive connections before the test database goes


@pytest.fixture
def sandbox_app() -> SandboxApp:
    return SandboxApp.objects.create(name="Sandbox test app")


@pytest.fixture
def app(live, sandbox_app) -> DingTalkApp:
    return dingtalk_sandbox_seed.console_app_for(sandbox_app)


@pytest.fixture
def alice() -> SandboxUser:
    return SandboxUser.objects.create(name="Alice Wang", email="alice@example.com")


@pytest.fixture
def console_user():
    return get_user_model().objects.create_user("alice", "alice@example.com", "pw")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def to_dingtalk(client, app: DingTalkApp, next_url: str = DEEP_LINK) -> str:
    """Open the homepage URL; the sandbox's sign-in page it sends the browser to."""
    response = client.get(reverse("dingtalk:homepage", args=[app.public_id]), {"next": next_url})
    assert response.status_code == 302
    return response["Location"]


def sign_in_at_dingtalk(client, authorize_url: str, person: SandboxUser) -> str:
    """Choose ``person`` on the sandbox's sign-in page; the callback URL it sends back to."""
    response = client.post(path_of(authorize_url), {"user": person.pk})
    assert response.status_code == 302
    return response["Location"]


def test_the_homepage_sends_the_browser_to_dingtalks_consent_page(client, app):
    location = to_dingtalk(client, app)
    parts = urlsplit(location)
    query = parse_qs(parts.query)
    assert parts.path == "/sandbox/dingtalk/oauth2/auth"
    assert query["client_id"] == [app.client_id]
    assert query["redirect_uri"] == [app.oauth_redirect_url]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["openid"]
    assert query["prompt"] == ["consent"]
    assert query["state"][0]


def test_the_first_visit_links_after_a_console_sign_in_and_keeps_the_deep_link(
    client, app, alice, console_user
):
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    response = client.get(path_of(callback))
    # Nobody to sign in as yet: the console's own sign-in first, then back to link.
    assert response.status_code == 302
    login = urlsplit(response["Location"])
    assert login.path == reverse("account_login")
    resume = parse_qs(login.query)["next"][0]
    assert not DingTalkAccount.objects.exists()

    client.force_login(console_user)
    response = client.get(resume)
    assert response.status_code == 302
    assert response["Location"] == DEEP_LINK
    link = DingTalkAccount.objects.get()
    assert (link.user, link.app, link.union_id) == (console_user, app, alice.union_id)
    assert link.dingtalk_user_id == alice.user_id  # found through getbyunionid
    assert link.name == "Alice Wang"


def test_later_visits_are_login_free(client, app, alice, console_user):
    DingTalkAccount.objects.create(user=console_user, app=app, union_id=alice.union_id)
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app, "/incidents/7/"), alice)
    response = client.get(path_of(callback))
    assert response.status_code == 302
    assert response["Location"] == "/incidents/7/"
    assert client.session["_auth_user_id"] == str(console_user.pk)
    # Signed in and linked: the homepage goes straight to the page, no round trip.
    response = client.get(reverse("dingtalk:homepage", args=[app.public_id]), {"next": "/x/"})
    assert response["Location"] == "/x/"


def test_a_signed_in_person_is_linked_at_once(client, app, alice, console_user):
    client.force_login(console_user)
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    assert client.get(path_of(callback))["Location"] == DEEP_LINK
    assert DingTalkAccount.objects.get().user == console_user


def test_someone_an_admin_entered_by_userid_signs_in_into_the_same_account(
    client, app, alice, console_user
):
    DingTalkAccount.objects.create(user=console_user, app=app, dingtalk_user_id=alice.user_id)
    other = get_user_model().objects.create_user("bob", "bob@example.com", "pw")
    DingTalkAccount.objects.create(user=other, app=app, dingtalk_user_id="staff-bob")

    # The entered accounts have no unionId yet: a first sign-in signs nobody in by it.
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    response = client.get(path_of(callback))
    assert "_auth_user_id" not in client.session
    client.force_login(console_user)
    link = client.get(reverse("dingtalk:link", args=[app.public_id]), {"next": DEEP_LINK})
    callback = sign_in_at_dingtalk(client, link["Location"], alice)
    assert client.get(path_of(callback))["Location"] == DEEP_LINK

    account = DingTalkAccount.objects.get(user=console_user)
    assert (account.union_id, account.dingtalk_user_id) == (alice.union_id, alice.user_id)
    assert response.status_code == 302  # to the console's sign-in, to link afterwards


def test_a_next_pointing_elsewhere_lands_home(client, app, alice, console_user):
    DingTalkAccount.objects.create(user=console_user, app=app, union_id=alice.union_id)
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app, "https://evil.example/"), alice)
    assert client.get(path_of(callback))["Location"] == reverse("home")


def test_a_callback_is_used_once(client, app, alice, console_user):
    DingTalkAccount.objects.create(user=console_user, app=app, union_id=alice.union_id)
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    assert client.get(path_of(callback)).status_code == 302
    client.logout()
    replayed = client.get(path_of(callback))
    assert replayed.status_code == 400
    assert "_auth_user_id" not in client.session


def test_a_forged_or_missing_state_is_refused(client, app, alice):
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    code = parse_qs(urlsplit(callback).query)["authCode"][0]
    url = reverse("dingtalk:oauth-callback", args=[app.public_id])
    assert client.get(url, {"authCode": code, "state": "forged"}).status_code == 400
    assert client.get(url, {"authCode": code}).status_code == 400
    assert not DingTalkAccount.objects.exists()


def test_another_apps_state_is_refused(client, app, alice, settings):
    other_sandbox = SandboxApp.objects.create(name="Other")
    other = dingtalk_sandbox_seed.console_app_for(other_sandbox)
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    query = urlsplit(callback).query
    wrong = reverse("dingtalk:oauth-callback", args=[other.public_id]) + "?" + query
    assert client.get(wrong).status_code == 400


def test_a_used_code_is_refused_by_dingtalk(client, app, alice, console_user):
    client.force_login(console_user)
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    code = parse_qs(urlsplit(callback).query)["authCode"][0]
    client.get(path_of(callback))
    # A new state, the old code: the sandbox refuses it as DingTalk does, the page says so.
    again = client.get(reverse("dingtalk:link", args=[app.public_id]))["Location"]
    state = parse_qs(urlsplit(again).query)["state"][0]
    url = reverse("dingtalk:oauth-callback", args=[app.public_id])
    response = client.get(url, {"authCode": code, "state": state})
    assert response.status_code == 502
    assert b"invalid.authCode" in response.content


def test_a_dingtalk_account_linked_to_someone_else_is_not_taken_over(client, app, alice):
    owner = get_user_model().objects.create_user("owner", "o@example.com", "pw")
    DingTalkAccount.objects.create(user=owner, app=app, union_id=alice.union_id)
    intruder = get_user_model().objects.create_user("intruder", "i@example.com", "pw")
    client.force_login(intruder)
    link = reverse("dingtalk:link", args=[app.public_id])
    authorize = client.get(link, {"next": "/account/"})["Location"]
    response = client.get(path_of(sign_in_at_dingtalk(client, authorize, alice)))
    assert response.status_code == 409
    assert DingTalkAccount.objects.get().user == owner


def test_an_inactive_console_account_is_not_signed_in(client, app, alice, console_user):
    DingTalkAccount.objects.create(user=console_user, app=app, union_id=alice.union_id)
    get_user_model().objects.filter(pk=console_user.pk).update(is_active=False)
    callback = sign_in_at_dingtalk(client, to_dingtalk(client, app), alice)
    assert client.get(path_of(callback)).status_code == 403
    assert "_auth_user_id" not in client.session


def test_a_disabled_app_has_no_sign_in(client, app):
    DingTalkApp.objects.filter(pk=app.pk).update(enabled=False)
    assert client.get(reverse("dingtalk:homepage", args=[app.public_id])).status_code == 404


# --- My account -----------------------------------------------------------------------------


def test_the_account_page_shows_the_dingtalk_link_and_unlinks(client, app, alice, console_user):
    client.force_login(console_user)
    page = client.get(reverse("account")).content.decode()
    assert "Linked DingTalk accounts" in page
    assert "app not linked" in page
    DingTalkAccount.objects.create(user=console_user, app=app, union_id="u1", name="Alice Wang")
    page = client.get(reverse("account")).content.decode()
    assert "linked as Alice Wang" in page
    unlink = reverse("dingtalk:unlink", args=[app.public_id])
    assert client.get(unlink).status_code == 405  # a stray GET removes nothing
    assert client.post(unlink).status_code == 302
    assert not DingTalkAccount.objects.exists()


def test_nobody_unlinks_someone_else(client, app, console_user):
    other = get_user_model().objects.create_user("bob", "b@example.com", "pw")
    DingTalkAccount.objects.create(user=other, app=app, union_id="u2")
    client.force_login(console_user)
    client.post(reverse("dingtalk:unlink", args=[app.public_id]))
    assert DingTalkAccount.objects.filter(user=other).exists()


def test_no_dingtalk_app_no_panel(client, console_user):
    client.force_login(console_user)
    assert "Linked DingTalk accounts" not in client.get(reverse("account")).content.decode()


def test_the_client_finds_members_by_mobile_without_logging_the_token(app, caplog):
    bob = SandboxUser.objects.create(name="Bob Li", mobile="13800000002")
    client = app.client()
    assert client.userid_by_mobile("13800000002") == bob.user_id
    assert client.user_detail(bob.user_id)["unionid"] == bob.union_id
    with pytest.raises(errors.PermanentError) as raised:
        client.userid_by_mobile("13900000000")
    assert raised.value.code == "60121"
    token = client.access_token()
    assert token not in caplog.text
    client.session.close()


# --- One-click linking by mobile (admin) ------------------------------------------------------


def test_an_admin_links_console_users_by_mobile_with_a_result_per_person(app, admin_client):
    bob = SandboxUser.objects.create(name="Bob Li", mobile="13800000002", email="bob@example.com")
    carol = SandboxUser.objects.create(name="Carol Wu", mobile="13800000003")
    users = get_user_model().objects
    bob_user = users.create_user("bob", "bob@example.com", "pw")
    carol_user = users.create_user("carol", "carol@example.com", "pw")
    users.create_user("dave", "dave@example.com", "pw")
    users.create_user("staffer", "staff@example.com", "pw", is_staff=True)
    other = users.create_user("other", "o@example.com", "pw")
    DingTalkAccount.objects.create(user=other, app=app, union_id=carol.union_id)
    url = reverse("admin:dingtalk_dingtalkapp_link_by_mobile", args=[app.pk])
    people = "\n".join(
        [
            "bob@example.com, 13800000002",
            "carol 13800000003",
            "dave\t13900000000",
            "staffer, 13800000004",
            "nobody, 13800000005",
            "dave, not-a-number",
        ]
    )
    response = admin_client.post(url, {"people": people})
    assert response.status_code == 200
    outcomes = [(row.line, row.outcome) for row in response.context["rows"]]
    assert outcomes == [
        ("bob@example.com, 13800000002", "linked"),
        ("carol, 13800000003", "taken"),
        ("dave, 13900000000", "not found in DingTalk"),
        ("staffer, 13800000004", "staff"),
        ("nobody, 13800000005", "no such console user"),
        ("dave, not-a-number", "unreadable line"),
    ]
    link = DingTalkAccount.objects.get(user=bob_user)
    assert (link.union_id, link.dingtalk_user_id, link.name) == (
        bob.union_id,
        bob.user_id,
        "Bob Li",
    )
    assert not DingTalkAccount.objects.filter(user=carol_user).exists()
    assert b"1 person linked" in response.content


def test_linking_by_mobile_needs_the_change_permission(app, client):
    viewer = get_user_model().objects.create_user("viewer", "v@example.com", "pw", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_dingtalkapp"))
    client.force_login(viewer)
    url = reverse("admin:dingtalk_dingtalkapp_link_by_mobile", args=[app.pk])
    assert client.get(url).status_code == 403
    assert client.post(url, {"people": "x, 13800000002"}).status_code == 403


def test_an_empty_list_is_refused_with_the_reason(app, admin_client):
    url = reverse("admin:dingtalk_dingtalkapp_link_by_mobile", args=[app.pk])
    response = admin_client.post(url, {"people": "  \n "})
    assert response.status_code == 200
    assert response.context["rows"] is None
    assert response.context["form"].errors


def test_the_dingtalk_panel_and_sign_in_page_speak_chinese(client, app, console_user):
    client.force_login(console_user)
    page = client.get(reverse("account"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已关联的钉钉账号" in page
    client.logout()
    authorize = to_dingtalk(client, app)
    page = client.get(path_of(authorize), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "请在组织成员中选择你的身份" in page


def test_the_sandbox_refuses_wrong_secrets_codes_and_tokens(client, sandbox_app, alice):
    token_url = reverse("dingtalk_sandbox:api-user-token")
    body = {"clientId": sandbox_app.client_id, "clientSecret": "wrong", "code": "x"}
    answer = client.post(token_url, body | {"grantType": "authorization_code"}, "application/json")
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid.client")
    body["clientSecret"] = sandbox_app.client_secret
    answer = client.post(token_url, body | {"grantType": "authorization_code"}, "application/json")
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid.authCode")
    answer = client.post(token_url, body | {"grantType": "password"}, "application/json")
    assert answer.json()["code"] == "unsupported.grant.type"
    me = reverse("dingtalk_sandbox:api-users-me")
    assert client.get(me, HTTP_X_ACS_DINGTALK_ACCESS_TOKEN="forged").status_code == 401
    assert client.get(me).status_code == 401
    by_unionid = reverse("dingtalk_sandbox:api-user-by-unionid") + "?access_token=forged"
    answer = client.post(by_unionid, {"unionid": alice.union_id}, "application/json")
    assert answer.json()["errcode"] == 40014


def test_the_sandbox_sign_in_page_refuses_a_wrong_link(client, sandbox_app):
    url = reverse("dingtalk_sandbox:oauth-authorize")
    good = {
        "client_id": sandbox_app.client_id,
        "response_type": "code",
        "scope": "openid",
        "redirect_uri": "https://oncall.example.com/cb/",
        "state": "s",
    }
    assert client.get(url, good).status_code == 200
    for wrong in ({"client_id": "nobody"}, {"scope": "contact"}, {"redirect_uri": "ftp://x/"}):
        assert client.get(url, good | wrong).status_code == 400
