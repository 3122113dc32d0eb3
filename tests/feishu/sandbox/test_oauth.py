"""The sandbox as ``accounts.feishu.cn``: the consent page (Django's test client), the code
exchange and user_info (the console's FeishuClient against the live server)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.utils import timezone

from integrations.feishu.client import errors
from integrations.feishu_sandbox.models import AccessToken, ApiCall, AuthorizationCode, secret_hash
from tests.feishu.sandbox.oauth_steps import (
    AUTHORIZE,
    REDIRECT_URI,
    authorize_url,
    pkce_pair,
    sign_in,
)

# --- The consent page --------------------------------------------------------------------------


def test_the_authorize_page_lists_the_directorys_people(client, sandbox_app, sandbox_people):
    response = client.get(authorize_url(sandbox_app))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Sign in to Sandbox test app" in page
    for person in sandbox_people.values():
        assert person.name in page
    assert "csrfmiddlewaretoken" in page
    assert "Cancel" in page


def test_an_unregistered_redirect_uri_shows_error_20029(client, sandbox_app, sandbox_people):
    response = client.get(authorize_url(sandbox_app, redirect_uri="https://evil.example/cb"))

    assert response.status_code == 400
    assert "20029" in response.content.decode()
    assert "Alice Chen" not in response.content.decode()


def test_an_unknown_client_id_shows_an_error_page(client, db):
    response = client.get(f"{AUTHORIZE}?client_id=cli_nobody&redirect_uri={REDIRECT_URI}")

    assert response.status_code == 400
    assert "does not exist" in response.content.decode()


def test_signing_in_redirects_with_a_code_and_the_state(client, sandbox_app, sandbox_people):
    params = sign_in(client, sandbox_app, sandbox_people["alice"], state="xyz")

    assert params["state"] == "xyz"
    assert len(params["code"]) >= 43
    stored = AuthorizationCode.objects.get()
    assert stored.user == sandbox_people["alice"]
    assert stored.code_hash == hashlib.sha256(params["code"].encode()).hexdigest()


def test_without_a_state_the_redirect_has_none(client, sandbox_app, sandbox_people):
    url = (
        f"{AUTHORIZE}?{urlencode({'client_id': sandbox_app.app_id, 'redirect_uri': REDIRECT_URI})}"
    )

    response = client.post(url, {"user": sandbox_people["bob"].pk})

    assert "state=" not in response["Location"]


def test_cancel_redirects_with_access_denied_and_the_state(client, sandbox_app, sandbox_people):
    response = client.post(authorize_url(sandbox_app, state="abc"), {"cancel": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"{REDIRECT_URI}?error=access_denied&state=abc"
    assert not AuthorizationCode.objects.exists()


def test_the_consent_form_is_protected_against_csrf(sandbox_app, sandbox_people):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)

    response = strict.post(authorize_url(sandbox_app), {"user": sandbox_people["alice"].pk})

    assert response.status_code == 403


def test_the_page_and_its_answers_are_logged_as_api_calls(client, sandbox_app, sandbox_people):
    client.get(authorize_url(sandbox_app))
    client.get(authorize_url(sandbox_app, redirect_uri="https://evil.example/cb"))

    codes = list(ApiCall.objects.order_by("id").values_list("app_id", "http_status", "code"))

    assert codes == [(sandbox_app.app_id, 200, 0), (sandbox_app.app_id, 400, 20029)]


# --- The code exchange -------------------------------------------------------------------------


def test_a_code_with_pkce_becomes_a_user_token(client, sandbox_client, sandbox_app, sandbox_people):
    verifier, challenge = pkce_pair()
    code = sign_in(client, sandbox_app, sandbox_people["alice"], challenge=challenge)["code"]

    answer = sandbox_client.exchange_code(code, REDIRECT_URI, verifier)

    assert answer["code"] == 0
    assert answer["access_token"].startswith("u-")
    assert (answer["expires_in"], answer["token_type"]) == (7200, "Bearer")
    assert "refresh_token" not in answer
    stored = AccessToken.objects.get(kind=AccessToken.Kind.USER)
    assert stored.user == sandbox_people["alice"]
    assert stored.token_hash == secret_hash(answer["access_token"])


def test_a_wrong_pkce_verifier_is_refused_with_20049(
    client, sandbox_client, sandbox_app, sandbox_people
):
    _, challenge = pkce_pair()
    code = sign_in(client, sandbox_app, sandbox_people["alice"], challenge=challenge)["code"]

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code(code, REDIRECT_URI, "x" * 43)

    assert raised.value.code == 20049
    assert not AccessToken.objects.exists()


def test_a_missing_pkce_verifier_is_refused_with_20049(
    client, sandbox_client, sandbox_app, sandbox_people
):
    _, challenge = pkce_pair()
    code = sign_in(client, sandbox_app, sandbox_people["alice"], challenge=challenge)["code"]

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code(code, REDIRECT_URI)

    assert raised.value.code == 20049


def test_a_plain_pkce_challenge_works_too(client, sandbox_client, sandbox_app, sandbox_people):
    verifier = secrets.token_urlsafe(48)
    code = sign_in(
        client,
        sandbox_app,
        sandbox_people["alice"],
        code_challenge=verifier,
        code_challenge_method="plain",
    )["code"]

    assert sandbox_client.exchange_code(code, REDIRECT_URI, verifier)["access_token"]


def test_a_code_is_refused_the_second_time_with_20065(
    client, sandbox_client, sandbox_app, sandbox_people
):
    code = sign_in(client, sandbox_app, sandbox_people["alice"])["code"]
    sandbox_client.exchange_code(code, REDIRECT_URI)

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code(code, REDIRECT_URI)

    assert raised.value.code == 20065
    assert AccessToken.objects.count() == 1


def test_an_expired_code_is_refused_with_20004(client, sandbox_client, sandbox_app, sandbox_people):
    code = sign_in(client, sandbox_app, sandbox_people["alice"])["code"]
    AuthorizationCode.objects.update(created_at=timezone.now() - timedelta(minutes=5, seconds=1))

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code(code, REDIRECT_URI)

    assert raised.value.code == 20004


def test_an_unknown_code_is_refused_with_20003(sandbox_client, sandbox_app):
    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code("no-such-code", REDIRECT_URI)

    assert raised.value.code == 20003


def test_another_redirect_uri_is_refused_with_20071(
    client, sandbox_client, sandbox_app, sandbox_people
):
    code = sign_in(client, sandbox_app, sandbox_people["alice"])["code"]

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code(code, "https://console.example.com/elsewhere/")

    assert raised.value.code == 20071


def test_a_wrong_client_secret_is_refused_with_20002(
    client, sandbox_app, make_sandbox_client, sandbox_people
):
    code = sign_in(client, sandbox_app, sandbox_people["alice"])["code"]
    impostor = make_sandbox_client(sandbox_app, secret="wrong-secret")

    with pytest.raises(errors.PermanentError) as raised:
        impostor.exchange_code(code, REDIRECT_URI)

    assert raised.value.code == 20002
    assert raised.value.http_status == 400


def test_another_apps_code_is_refused_with_20024(
    client, sandbox_client, sandbox_app, sandbox_people
):
    from integrations.feishu_sandbox.models import SandboxApp

    other = SandboxApp.objects.create(name="Other app", redirect_urls=[REDIRECT_URI])
    code = sign_in(client, other, sandbox_people["alice"])["code"]

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code(code, REDIRECT_URI)

    assert raised.value.code == 20024


def test_a_person_outside_the_apps_availability_is_refused_with_20010(
    client, sandbox_client, sandbox_app, sandbox_people
):
    sandbox_app.available_to_all = False
    sandbox_app.save()
    page = client.get(authorize_url(sandbox_app)).content.decode()
    code = sign_in(client, sandbox_app, sandbox_people["alice"])["code"]

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.exchange_code(code, REDIRECT_URI)

    assert "20010" in page
    assert raised.value.code == 20010


# --- user_info ---------------------------------------------------------------------------------


def test_user_info_returns_the_person_with_their_open_id_for_that_app(
    client, sandbox_client, sandbox_app, sandbox_people
):
    alice = sandbox_people["alice"]
    code = sign_in(client, sandbox_app, alice)["code"]
    user_token = sandbox_client.exchange_code(code, REDIRECT_URI)["access_token"]

    info = sandbox_client.user_info(user_token)

    assert info["open_id"] == sandbox_app.open_id_of(alice)
    assert (info["name"], info["email"], info["mobile"]) == (alice.name, alice.email, alice.mobile)
    assert (info["union_id"], info["user_id"]) == (alice.union_id, alice.user_id)
    assert info["tenant_key"]


def test_user_info_refuses_an_unknown_user_token_with_20005(sandbox_client, sandbox_app):
    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.user_info("u-not-a-token")

    assert raised.value.code == 20005


def test_user_info_refuses_a_tenant_token_with_20005(sandbox_client, sandbox_app):
    tenant_token = sandbox_client.tenant_access_token()

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.user_info(tenant_token)

    assert raised.value.code == 20005
