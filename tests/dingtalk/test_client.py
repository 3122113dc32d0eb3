"""DingTalkClient against exact URLs and bodies, mocked at the HTTP level with ``responses``: the
access token (fetched, cached, refreshed), DingTalk's codes as typed errors, and no secret in an
error or a log line."""

from __future__ import annotations

import logging

import pytest
import requests
import responses
from django.core.cache import cache
from django.utils import translation
from responses import matchers

from integrations.dingtalk.client import errors
from integrations.dingtalk.client.open_api import AppCredentials, DingTalkClient, token_cache_key

SECRET = "client-secret-4e5d6c7b8a9f"
TOKEN = "2bf0a1b2c3d4e5f69be361a5084f1e2b8"
CORP = "ding9f50b15b00016741"
API = "https://api.dingtalk.com"
TOKEN_URL = f"{API}/v1.0/oauth2/{CORP}/token"
CREDENTIALS = AppCredentials(CORP, "dingclientabc", SECRET, API, "https://oapi.dingtalk.com")
TOKEN_BODY = {
    "client_id": "dingclientabc",
    "client_secret": SECRET,
    "grant_type": "client_credentials",
}


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client():
    return DingTalkClient(CREDENTIALS)


def token_answer(rsps, token=TOKEN, expires_in=7200):
    return rsps.post(
        TOKEN_URL,
        json={"access_token": token, "expires_in": expires_in},
        match=[matchers.json_params_matcher(TOKEN_BODY)],
    )


def refusal(rsps, status, code, message=None, **extra):
    body = {"code": code, "message": message or code, "requestid": "6E32D367", **extra}
    return rsps.post(TOKEN_URL, status=status, json=body)


# --- The token -------------------------------------------------------------------------------


def test_it_fetches_the_token_for_the_organisation_and_app(rsps, client):
    token_answer(rsps)
    assert client.access_token() == TOKEN


def test_the_token_is_cached_until_five_minutes_before_it_expires(rsps, client):
    token_answer(rsps)
    client.access_token()
    assert DingTalkClient(CREDENTIALS).access_token() == TOKEN  # another worker: no fetch
    assert len(rsps.calls) == 1
    key = token_cache_key(CREDENTIALS)
    assert cache.get(key) == TOKEN
    assert SECRET not in key


def test_forgetting_the_token_fetches_a_new_one(rsps, client):
    token_answer(rsps)
    token_answer(rsps, token="t-new-one-000000000000")
    client.access_token()
    client.forget_token()
    assert client.access_token() == "t-new-one-000000000000"


def test_a_token_about_to_expire_is_not_kept(rsps, client):
    token_answer(rsps, expires_in=200)
    token_answer(rsps, token="t-second-000000000000")
    client.access_token()
    assert client.access_token() == "t-second-000000000000"


def test_another_secret_has_its_own_token(rsps):
    token_answer(rsps)
    DingTalkClient(CREDENTIALS).access_token()
    changed = AppCredentials(CORP, "dingclientabc", "another-secret", API, CREDENTIALS.oapi_base)
    rsps.post(TOKEN_URL, json={"access_token": "t-other", "expires_in": 7200})
    assert DingTalkClient(changed).access_token() == "t-other"


def test_an_answer_without_a_token_is_transient(rsps, client):
    rsps.post(TOKEN_URL, json={"expires_in": 7200})
    with pytest.raises(errors.TransientError):
        client.access_token()


# --- DingTalk's codes, typed -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "invalid.client", errors.AuthError),
        (401, "unauthorized.client", errors.AuthError),
        (400, "invalidClientIdOrSecret", errors.AuthError),
        (400, "somethingNew", errors.AuthError),  # any other refusal of a token request
        (403, "Forbidden.AccessDenied.IpNotInWhiteList", errors.IpNotAllowed),
        (403, "Forbidden.AccessDenied.QpsLimitForAppkeyAndApi", errors.RateLimited),
        (403, "Forbidden.AccessDenied.QpsLimitForApi", errors.RateLimited),
        (403, "Forbidden.AccessDenied.ApiCountLimitForOrg", errors.QuotaExhausted),
        (500, "server.error", errors.TransientError),
        (503, "ServiceUnavailable", errors.TransientError),
    ],
)
def test_a_refused_token_raises_the_error_of_dingtalks_code(rsps, client, status, code, kind):
    refusal(rsps, status, code)
    with pytest.raises(kind) as raised:
        client.access_token()
    assert raised.value.code == code
    assert raised.value.http_status == status
    assert raised.value.permanent is (
        not issubclass(kind, errors.TransientError | errors.RateLimited)
    )


def test_an_answer_that_is_not_json_is_transient(rsps, client):
    rsps.post(TOKEN_URL, status=502, body="<html>bad gateway</html>")
    with pytest.raises(errors.TransientError, match="not a JSON object"):
        client.access_token()


def test_no_answer_is_transient(rsps, client):
    rsps.post(TOKEN_URL, body=requests.ConnectionError("refused"))
    with pytest.raises(errors.TransientError, match="did not get an answer"):
        client.access_token()


def test_an_inward_host_is_refused_by_the_outbound_guard(settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    inward = AppCredentials(
        CORP, "dingclientabc", SECRET, "http://127.0.0.1:9", "http://127.0.0.1:9"
    )
    with pytest.raises(errors.DestinationRefused):
        DingTalkClient(inward).access_token()


def test_no_secret_reaches_an_error_or_the_log(rsps, client, caplog):
    caplog.set_level(logging.DEBUG)
    refusal(rsps, 400, "invalid.client", message=f"bad secret {SECRET}")
    with pytest.raises(errors.AuthError) as raised:
        client.access_token()
    assert SECRET not in str(raised.value)
    assert errors.REDACTED in str(raised.value)
    assert SECRET not in caplog.text
    assert CORP not in caplog.text
    assert "invalid.client" in caplog.text


# --- The error table -------------------------------------------------------------------------


def test_the_legacy_apis_codes_map_as_the_current_ones():
    assert isinstance(
        errors.from_response(200, {"errcode": 90018, "errmsg": "x"}), errors.RateLimited
    )
    assert isinstance(
        errors.from_response(200, {"errcode": 90020, "errmsg": "x"}), errors.QuotaExhausted
    )
    assert isinstance(
        errors.from_response(200, {"errcode": 60020, "errmsg": "x"}), errors.IpNotAllowed
    )
    assert isinstance(
        errors.from_response(200, {"errcode": 40014, "errmsg": "x"}), errors.TokenInvalid
    )


def test_a_missing_permission_names_the_scopes_dingtalk_asked_for():
    exc = errors.from_response(
        403,
        {
            "code": "Forbidden.AccessDenied.AccessTokenPermissionDenied",
            "message": "没有调用该接口的权限",
            "accessdenieddetail": {"requiredScopes": ["qyapi_chat_manage"]},
        },
    )
    assert isinstance(exc, errors.PermissionDenied)
    assert exc.scopes == ("qyapi_chat_manage",)
    words = errors.explain(exc, doing="listing groups")
    assert "qyapi_chat_manage" in words
    assert "Permissions page" in words


def test_a_rate_limit_without_a_code_is_a_rate_limit():
    assert isinstance(errors.from_response(429, None), errors.RateLimited)


@pytest.mark.parametrize(
    ("code", "english", "chinese"),
    [
        ("invalid.client", "Client Secret does not belong to it", "Client Secret 与它不匹配"),
        ("unauthorized.client", "organisation of this CorpId", "CorpId"),
        ("Forbidden.AccessDenied.IpNotInWhiteList", "allow list", "白名单"),
        ("Forbidden.AccessDenied.ApiCountLimitForOrg", "this month are spent", "本月"),
    ],
)
def test_each_code_is_explained_in_english_and_chinese(code, english, chinese):
    exc = errors.from_response(400, {"code": code, "message": code})
    assert english in errors.explain(exc, doing="the request for an access token")
    with translation.override("zh-hans"):
        assert chinese in errors.explain(exc, doing="获取访问凭证的请求")
