"""Signing in with Feishu and linking accounts, with the sandbox as the OAuth server.

The console's views are driven with Django's test client; the sandbox's consent page is too
(both are the same Django project); the console's token exchange and user_info calls go over
HTTP to the sandbox on the live server, as they would go to Feishu.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from allauth.socialaccount.internal import statekit
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from integrations.feishu.models import FeishuApp, LinkedAccount, Platform
from integrations.feishu_sandbox.models import AuthorizationCode, SandboxApp
from tests.feishu.sandbox.world import console_app_for

PASSWORD = "correct horse battery staple"


# --- Helpers -----------------------------------------------------------------------------------


@pytest.fixture
def app(console_app, sandbox_app) -> FeishuApp:
    """The console's app, its redirect URL registered in the sandbox app."""
    sandbox_app.redirect_urls = [console_app.redirect_url]
    sandbox_app.save()
    return console_app


@pytest.fixture
def people(sandbox_people):
    return sandbox_people


def make_user(username: str, email: str = "", **fields):
    return get_user_model().objects.create_user(username, email, PASSWORD, **fields)


def relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def web_entry(app: FeishuApp, next_url: str | None = None) -> str:
    url = reverse("feishu:web", args=[app.public_id])
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def at_feishu(client, start_response, person=None, *, cancel=False):
    """On the consent page the console sent the browser to, sign in as ``person`` (or cancel);
    returns the URL Feishu sends the browser back to, relative to the console."""
    assert start_response.status_code == 302, start_response.content
    consent_url = relative(start_response["Location"])
    answer = {"cancel": "1"} if cancel else {"user": person.pk}
    consent = client.post(consent_url, answer)
    assert consent.status_code == 302, consent.content
    return relative(consent["Location"])


def round_trip(client, app: FeishuApp, person, *, start_url: str | None = None):
    """Open the app (or ``start_url``), sign in at Feishu as ``person``; the console's answer."""
    start = client.get(start_url or web_entry(app))
    return client.get(at_feishu(client, start, person))


def signed_in_user(client):
    return get_user_model().objects.filter(pk=client.session.get("_auth_user_id")).first()


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


# --- The provider's round trip -------------------------------------------------------------------


def test_the_web_entry_sends_the_browser_to_the_apps_consent_page_with_state_and_pkce(
    client, app, sandbox_app
):
    response = client.get(web_entry(app))

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(app.accounts_base + "/open-apis/authen/v1/authorize?")
    query = query_of(location)
    assert query["response_type"] == "code"
    assert query["client_id"] == sandbox_app.app_id
    assert query["redirect_uri"] == app.redirect_url
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) >= 16
    assert app.app_secret not in location


def test_each_visit_gets_a_new_state(client, app):
    first = query_of(client.get(web_entry(app))["Location"])["state"]
    second = query_of(client.get(web_entry(app))["Location"])["state"]

    assert first != second


def test_an_unknown_or_disabled_app_is_not_found(client, app):
    assert client.get(reverse("feishu:web", args=[uuid.uuid4()])).status_code == 404
    app.enabled = False
    app.save()
    assert client.get(web_entry(app)).status_code == 404


# --- Linking --------------------------------------------------------------------------------------


def test_a_first_visit_while_signed_in_links_the_console_user(client, app, sandbox_app, people):
    carol = make_user("carol", "someone-else@example.com")
    client.force_login(carol)

    response = round_trip(client, app, people["alice"])

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    link = LinkedAccount.objects.get(user=carol, app=app)
    assert link.open_id == sandbox_app.open_id_of(people["alice"])
    assert link.union_id == people["alice"].union_id
    assert link.feishu_user_id == people["alice"].user_id
    assert link.name == "Alice Chen"
    assert link.email == "alice@example.com"
    assert signed_in_user(client) == carol


def test_a_first_visit_without_a_session_asks_to_sign_in_and_links_after_the_local_login(
    client, app, sandbox_app, people, settings
):
    settings.FEISHU_LINK_BY_VERIFIED_EMAIL = False
    carol = make_user("carol", "alice@example.com")

    response = round_trip(client, app, people["alice"], start_url=web_entry(app, "/incidents/"))

    assert response.status_code == 302
    assert response["Location"] == reverse("feishu:link-sign-in", args=[app.public_id])
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Sign in to the console to link your Feishu account" in page.text
    assert "Alice Chen" in page.text
    resume = reverse("feishu:link-resume", args=[app.public_id])
    login_url = reverse("account_login") + "?" + urlencode({"next": resume})
    assert login_url.replace("&", "&amp;") in page.text or login_url in page.text
    assert sandbox_app.open_id_of(people["alice"]) not in login_url
    assert not LinkedAccount.objects.exists()

    login = client.post(login_url, {"login": "carol", "password": PASSWORD})
    assert login.status_code == 302
    assert login["Location"] == resume
    done = client.get(resume)

    assert done.status_code == 302
    assert done["Location"] == "/incidents/"
    link = LinkedAccount.objects.get(app=app)
    assert (link.user, link.open_id) == (carol, sandbox_app.open_id_of(people["alice"]))
    assert client.get(resume).status_code == 400  # the pending identity was used up


def test_the_resume_url_needs_a_signed_in_user(client, app):
    response = client.get(reverse("feishu:link-resume", args=[app.public_id]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_the_sign_in_page_without_a_pending_identity_starts_over(client, app):
    response = client.get(reverse("feishu:link-sign-in", args=[app.public_id]))

    assert response.status_code == 302
    assert response["Location"] == web_entry(app)


def test_a_verified_email_matching_one_console_user_links_and_signs_them_in(client, app, people):
    alice = make_user("achen", "ALICE@example.com")

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("home")
    assert LinkedAccount.objects.get(app=app).user == alice
    assert signed_in_user(client) == alice


@pytest.mark.parametrize(
    "users",
    [
        pytest.param([("a1", "alice@example.com"), ("a2", "Alice@Example.com")], id="ambiguous"),
        pytest.param([("a1", "alice@example.org")], id="different address"),
    ],
)
def test_no_single_email_match_asks_the_person_to_sign_in(client, app, people, users):
    for username, email in users:
        make_user(username, email)

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("feishu:link-sign-in", args=[app.public_id])
    assert not LinkedAccount.objects.exists()
    assert signed_in_user(client) is None


def test_email_matching_can_be_turned_off(client, app, people, settings):
    settings.FEISHU_LINK_BY_VERIFIED_EMAIL = False
    make_user("achen", "alice@example.com")

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("feishu:link-sign-in", args=[app.public_id])
    assert signed_in_user(client) is None


def test_an_inactive_user_is_not_matched_by_email(client, app, people):
    make_user("achen", "alice@example.com", is_active=False)

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("feishu:link-sign-in", args=[app.public_id])


@pytest.mark.parametrize(
    "privilege",
    [{"is_staff": True}, {"is_superuser": True}, {"is_staff": True, "is_superuser": True}],
    ids=["staff", "superuser", "both"],
)
@pytest.mark.parametrize("create_accounts", [False, True], ids=["no-creation", "creation"])
def test_an_administrators_email_never_signs_anyone_in_as_them(
    client, app, people, settings, privilege, create_accounts
):
    """Whoever holds the admin's address in the Feishu tenant is sent to sign in with a console
    password: no link, no session, and no second account in the admin's name."""
    settings.FEISHU_CREATE_ACCOUNTS = create_accounts
    root = make_user("root", "Alice@example.com", **privilege)
    users_before = get_user_model().objects.count()

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("feishu:link-sign-in", args=[app.public_id])
    assert not LinkedAccount.objects.exists()
    assert signed_in_user(client) is None
    assert get_user_model().objects.count() == users_before
    page = client.get(response["Location"]).text
    assert "Administrators and other staff are never signed in by their e-mail address" in page
    # Signed in with the password, the admin links the account.
    client.force_login(root)
    assert round_trip(client, app, people["alice"])["Location"] == reverse("home")
    assert LinkedAccount.objects.get(app=app).user == root


def test_the_sign_in_page_says_so_in_chinese(client, app, people):
    round_trip(client, app, people["alice"])
    page = client.get(
        reverse("feishu:link-sign-in", args=[app.public_id]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "管理员和其他管理人员不会通过电子邮箱地址自动登录" in page.text


def test_with_account_creation_on_a_new_person_gets_an_account_without_a_password(
    client, app, people, settings
):
    settings.FEISHU_CREATE_ACCOUNTS = True
    make_user("alice", "alice@corp.example")  # the username is taken

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("home")
    user = LinkedAccount.objects.get(app=app).user
    assert user.username == "alice2"
    assert user.email == "alice@example.com"
    assert user.first_name == "Alice Chen"
    assert not user.has_usable_password()
    assert signed_in_user(client) == user


def test_with_account_creation_off_nobody_is_created(client, app, people):
    before = get_user_model().objects.count()

    round_trip(client, app, people["alice"])

    assert get_user_model().objects.count() == before


def test_a_later_visit_signs_the_linked_user_in_without_a_password_and_refreshes_the_profile(
    client, app, sandbox_app, people
):
    alice = make_user("achen", "a.chen@corp.example")
    LinkedAccount.objects.create(
        user=alice, app=app, open_id=sandbox_app.open_id_of(people["alice"]), name="Old name"
    )

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("home")
    assert signed_in_user(client) == alice
    link = LinkedAccount.objects.get(user=alice)
    assert (link.name, link.email) == ("Alice Chen", "alice@example.com")
    assert link.union_id == people["alice"].union_id


def test_a_linked_feishu_user_replaces_another_console_session(client, app, sandbox_app, people):
    alice = make_user("achen")
    LinkedAccount.objects.create(
        user=alice, app=app, open_id=sandbox_app.open_id_of(people["alice"])
    )
    client.force_login(make_user("bob"))

    round_trip(client, app, people["alice"])

    assert signed_in_user(client) == alice


def test_an_inactive_linked_user_is_refused(client, app, sandbox_app, people):
    alice = make_user("achen", is_active=False)
    LinkedAccount.objects.create(
        user=alice, app=app, open_id=sandbox_app.open_id_of(people["alice"])
    )

    response = round_trip(client, app, people["alice"])

    assert response.status_code == 403
    assert "deactivated" in response.text
    assert signed_in_user(client) is None


@pytest.mark.parametrize("deep_link", ["/incidents/{id}/", "/incidents/{id}/?tab=timeline"])
def test_a_deep_link_survives_the_round_trip(client, app, people, deep_link):
    make_user("achen", "alice@example.com")
    target = deep_link.format(id=uuid.uuid4())

    response = round_trip(client, app, people["alice"], start_url=web_entry(app, target))

    assert response["Location"] == target


@pytest.mark.parametrize(
    "next_url", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"]
)
def test_a_next_leaving_the_console_is_ignored(client, app, people, next_url):
    make_user("achen", "alice@example.com")

    response = round_trip(client, app, people["alice"], start_url=web_entry(app, next_url))

    assert response["Location"] == reverse("home")


def test_unlinking_then_opening_the_app_links_again(client, app, sandbox_app, people):
    carol = make_user("carol")
    client.force_login(carol)
    round_trip(client, app, people["alice"])
    LinkedAccount.objects.filter(user=carol).delete()

    round_trip(client, app, people["alice"])

    assert LinkedAccount.objects.get(user=carol).open_id == sandbox_app.open_id_of(people["alice"])


def test_switch_account_replaces_the_users_link_for_the_app(client, app, sandbox_app, people):
    carol = make_user("carol")
    LinkedAccount.objects.create(
        user=carol, app=app, open_id=sandbox_app.open_id_of(people["alice"])
    )
    client.force_login(carol)
    link_url = reverse("feishu:link", args=[app.public_id]) + "?next=/account/feishu/"

    response = round_trip(client, app, people["bob"], start_url=link_url)

    assert response["Location"] == "/account/feishu/"
    links = LinkedAccount.objects.filter(user=carol)
    assert [(link.open_id, link.name) for link in links] == [
        (sandbox_app.open_id_of(people["bob"]), "Bob Li")
    ]


def test_linking_refuses_a_feishu_account_that_belongs_to_someone_else(
    client, app, sandbox_app, people
):
    LinkedAccount.objects.create(
        user=make_user("bob"), app=app, open_id=sandbox_app.open_id_of(people["bob"])
    )
    carol = make_user("carol")
    client.force_login(carol)

    response = round_trip(
        client, app, people["bob"], start_url=reverse("feishu:link", args=[app.public_id])
    )

    assert response.status_code == 403
    assert "linked to another console account" in response.text
    assert not LinkedAccount.objects.filter(user=carol).exists()
    assert signed_in_user(client) == carol


def test_the_link_url_needs_a_signed_in_user(client, app):
    response = client.get(reverse("feishu:link", args=[app.public_id]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_two_apps_on_two_platforms_link_side_by_side(
    client, app, sandbox_app, sandbox_base_url, people
):
    lark_sandbox = SandboxApp.objects.create(name="Lark tenant")
    lark_app = console_app_for(
        lark_sandbox, name="Lark", platform=Platform.LARK, api_base_url=sandbox_base_url
    )
    lark_sandbox.redirect_urls = [lark_app.redirect_url]
    lark_sandbox.save()
    carol = make_user("carol")
    client.force_login(carol)

    round_trip(client, app, people["alice"])
    round_trip(client, lark_app, people["alice"])

    links = {link.app: link.open_id for link in LinkedAccount.objects.filter(user=carol)}
    assert links == {
        app: sandbox_app.open_id_of(people["alice"]),
        lark_app: lark_sandbox.open_id_of(people["alice"]),
    }
    assert links[app] != links[lark_app]


def test_a_state_issued_for_one_app_is_refused_by_anothers_callback(
    client, app, sandbox_base_url, people
):
    other_sandbox = SandboxApp.objects.create(name="Other")
    other = console_app_for(other_sandbox)
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    foreign = reverse("feishu:oauth-callback", args=[other.public_id]) + "?" + urlsplit(back).query

    response = client.get(foreign)

    assert response.status_code == 400
    assert "no longer valid" in response.text


# --- Errors a person understands --------------------------------------------------------------


def assert_problem_page(response, status: int, title: str, app: FeishuApp) -> None:
    assert response.status_code == status
    assert title in response.text
    assert app.name in response.text
    assert "Try again" in response.text
    assert "Traceback" not in response.text
    assert app.app_secret not in response.text


def test_cancelling_consent_explains_it_and_offers_to_try_again(client, app, people):
    back = at_feishu(client, client.get(web_entry(app, "/incidents/")), cancel=True)

    response = client.get(back)

    assert_problem_page(response, 403, "Sign-in was cancelled", app)
    assert f'href="/feishu/{app.public_id}/web/?next=%2Fincidents%2F"' in response.text


def test_an_unregistered_redirect_url_is_shown_by_feishu_with_20029(client, app, sandbox_app):
    sandbox_app.redirect_urls = []
    sandbox_app.save()

    consent = client.get(relative(client.get(web_entry(app))["Location"]))

    assert consent.status_code == 400
    assert "20029" in consent.text


def test_a_redirect_url_mismatch_at_the_exchange_explains_the_registration(
    client, app, people, settings
):
    # The console's public URL changed between the consent and the callback (a moved console).
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    settings.PUBLIC_BASE_URL = "https://moved.example.com"

    response = client.get(back)

    assert_problem_page(response, 400, "redirect URL is not registered", app)
    assert "20071" in response.text


def test_a_person_outside_the_apps_availability_is_told_so(client, app, sandbox_app, people):
    sandbox_app.available_to_all = False
    sandbox_app.save()

    response = round_trip(client, app, people["alice"])

    assert_problem_page(response, 403, "The app is not available to you", app)
    assert "20010" in response.text
    assert not LinkedAccount.objects.exists()


def _altered(state: str) -> str:
    """``state`` with its last character changed (to another one: a state may end in "x")."""
    return state[:-1] + ("y" if state.endswith("x") else "x")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda query: query.pop("state"), id="missing"),
        pytest.param(lambda query: query.update(state=_altered(query["state"])), id="altered"),
        pytest.param(lambda query: query.update(state="guessed-state-value"), id="made up"),
    ],
)
def test_a_missing_or_tampered_state_is_refused_without_exchanging_the_code(
    client, app, people, tamper
):
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    query = query_of(back)
    tamper(query)

    response = client.get(urlsplit(back).path + "?" + urlencode(query))

    assert_problem_page(response, 400, "This sign-in link is no longer valid", app)
    assert not AuthorizationCode.objects.filter(used=True).exists()
    assert not LinkedAccount.objects.exists()


def test_a_state_from_another_browser_is_refused(client, app, people, django_user_model):
    from django.test import Client

    back = at_feishu(client, client.get(web_entry(app)), people["alice"])

    response = Client().get(back)

    assert_problem_page(response, 400, "This sign-in link is no longer valid", app)


def test_an_expired_state_is_refused(client, app, people, monkeypatch):
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    monkeypatch.setattr(statekit, "STATE_TTL", -1)

    response = client.get(back)

    assert_problem_page(response, 400, "This sign-in link is no longer valid", app)


def test_a_replayed_callback_is_refused_and_the_code_is_not_exchanged_again(
    client, app, people, caplog
):
    make_user("achen", "alice@example.com")
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    assert client.get(back).status_code == 302
    client.logout()

    with caplog.at_level(logging.INFO):
        response = client.get(back)

    assert_problem_page(response, 400, "This sign-in link is no longer valid", app)
    assert signed_in_user(client) is None
    assert query_of(back)["code"] not in caplog.text


def test_a_used_code_under_a_fresh_state_is_refused_with_20065(client, app, people):
    make_user("achen", "alice@example.com")
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    fresh_state = query_of(client.get(web_entry(app))["Location"])["state"]
    assert client.get(back).status_code == 302
    replay = (
        urlsplit(back).path
        + "?"
        + urlencode({"code": query_of(back)["code"], "state": fresh_state})
    )

    response = client.get(replay)

    assert_problem_page(response, 400, "already used or has expired", app)


def test_an_expired_code_is_refused(client, app, people):
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    AuthorizationCode.objects.update(created_at=timezone.now() - timedelta(minutes=6))

    response = client.get(back)

    assert_problem_page(response, 400, "already used or has expired", app)


def test_feishu_unreachable_is_a_502_that_says_so(client, app, people, settings, caplog):
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    settings.FEISHU_SANDBOX_BASE_URL = "http://127.0.0.1:9"  # nothing listens on port 9

    with caplog.at_level(logging.WARNING):
        response = client.get(back)

    assert_problem_page(response, 502, "Feishu could not be reached", app)
    assert "unreachable (TransientError" in caplog.text
    assert query_of(back)["code"] not in caplog.text


def test_an_app_whose_host_the_guard_refuses_gets_a_502_that_says_so(
    client, app, people, settings, caplog
):
    back = at_feishu(client, client.get(web_entry(app)), people["alice"])
    settings.OUTBOUND_ALLOWED_NETWORKS = []  # the sandbox on loopback is no longer allowed

    with caplog.at_level(logging.WARNING):
        response = client.get(back)

    assert_problem_page(response, 502, "The console will not call this app&#x27;s API", app)
    assert "destination_refused (DestinationRefused" in caplog.text
    assert not LinkedAccount.objects.exists()


def test_a_wrong_app_secret_is_an_administrators_problem(client, app, people):
    app.app_secret = "not-the-secret"
    app.save()

    response = round_trip(client, app, people["alice"])

    assert_problem_page(response, 502, "Feishu refused the app", app)
    assert "not-the-secret" not in response.text


def test_a_user_already_linked_in_the_app_is_not_matched_by_email_again(
    client, app, sandbox_app, people
):
    alice = make_user("achen", "alice@example.com")
    LinkedAccount.objects.create(user=alice, app=app, open_id="ou_someone_else")

    response = round_trip(client, app, people["alice"])

    assert response["Location"] == reverse("feishu:link-sign-in", args=[app.public_id])
    assert LinkedAccount.objects.get(user=alice).open_id == "ou_someone_else"


def test_a_pending_identity_expires(client, app, people, monkeypatch):
    from integrations.feishu.oauth import linking

    make_user("carol")
    round_trip(client, app, people["alice"])
    monkeypatch.setattr(linking, "PENDING_TTL_SECONDS", -1)
    client.post(reverse("account_login"), {"login": "carol", "password": PASSWORD})

    response = client.get(reverse("feishu:link-resume", args=[app.public_id]))

    assert response.status_code == 400
    assert not LinkedAccount.objects.exists()
