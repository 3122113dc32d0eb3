"""FeishuClient against exact URLs and bodies, mocked at the HTTP level with ``responses``."""

from __future__ import annotations

import functools
import json
import logging
import re
import threading

import pytest
import requests
import responses
from django.core.cache import cache
from responses import matchers

from integrations.chatkit.ratelimit import DatabaseLimiter, Limit
from integrations.feishu.client import errors
from integrations.feishu.client import open_api as client_module
from integrations.feishu.client.open_api import (
    AppCredentials,
    FeishuClient,
    pooled_session,
    token_cache_key,
)
from integrations.feishu.models import RateWindow

SECRET = "app-secret-9f8e7d6c5b4a"
TOKEN = "t-tenant-token-0123456789"
NEW_TOKEN = "t-tenant-token-refreshed"
OPEN = "https://open.feishu.cn"
TOKEN_URL = f"{OPEN}/open-apis/auth/v3/tenant_access_token/internal"
MESSAGES_URL = f"{OPEN}/open-apis/im/v1/messages"
CARD = {"config": {"update_multi": True}, "elements": [{"tag": "hr"}]}
FEISHU = AppCredentials("cli_a1b2c3", SECRET, OPEN, "https://accounts.feishu.cn")
LARK = AppCredentials(
    "cli_a1b2c3", SECRET, "https://open.larksuite.com", "https://accounts.larksuite.com"
)


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client():
    return FeishuClient(FEISHU)


def token_answer(rsps, token=TOKEN, expire=7200):
    return rsps.post(
        TOKEN_URL,
        json={"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire},
        match=[matchers.json_params_matcher({"app_id": "cli_a1b2c3", "app_secret": SECRET})],
    )


def bearer(token=TOKEN):
    return matchers.header_matcher({"Authorization": f"Bearer {token}"})


def sent(rsps, url):
    return json.loads(next(c.request.body for c in rsps.calls if c.request.url == url))


def send(client):
    return client.send_message("chat_id", "oc_123", CARD, "uuid-1")


# --- Success of each method ---------------------------------------------------------------


def test_it_sends_a_card_and_returns_the_message_id(rsps, client):
    token_answer(rsps)
    rsps.post(
        MESSAGES_URL,
        json={"code": 0, "msg": "success", "data": {"message_id": "om_1"}},
        match=[
            bearer(),
            matchers.query_param_matcher({"receive_id_type": "chat_id"}),
            matchers.json_params_matcher(
                {
                    "receive_id": "oc_123",
                    "msg_type": "interactive",
                    "content": json.dumps(CARD),
                    "uuid": "uuid-1",
                }
            ),
        ],
    )

    assert send(client) == "om_1"


def test_it_patches_a_card_with_its_json_as_a_string(rsps, client):
    token_answer(rsps)
    rsps.patch(
        f"{MESSAGES_URL}/om_1",
        json={"code": 0, "msg": "success", "data": {}},
        match=[bearer(), matchers.json_params_matcher({"content": json.dumps(CARD)})],
    )

    assert client.patch_message("om_1", CARD) is None


def test_it_updates_a_card_later_with_the_callback_token(rsps, client):
    token_answer(rsps)
    rsps.post(
        f"{OPEN}/open-apis/interactive/v1/card/update",
        json={"code": 0, "msg": "success"},
        match=[bearer(), matchers.json_params_matcher({"token": "c-abc", "card": CARD})],
    )

    client.update_card_delayed("c-abc", CARD)


def test_it_lists_chats_following_every_page(rsps, client):
    token_answer(rsps)
    url = f"{OPEN}/open-apis/im/v1/chats"
    rsps.get(
        url,
        json={
            "code": 0,
            "data": {"items": [{"chat_id": "oc_1"}], "has_more": True, "page_token": "p2"},
        },
        match=[bearer(), matchers.query_param_matcher({"page_size": "100"})],
    )
    rsps.get(
        url,
        json={"code": 0, "data": {"items": [{"chat_id": "oc_2"}], "has_more": False}},
        match=[bearer(), matchers.query_param_matcher({"page_size": "100", "page_token": "p2"})],
    )

    assert [c["chat_id"] for c in client.list_chats()] == ["oc_1", "oc_2"]


def test_it_creates_a_chat_and_returns_its_id(rsps, client):
    token_answer(rsps)
    rsps.post(
        f"{OPEN}/open-apis/im/v1/chats",
        json={"code": 0, "data": {"chat_id": "oc_new"}},
        match=[
            bearer(),
            matchers.query_param_matcher({"user_id_type": "open_id", "uuid": "war-room-7"}),
            matchers.json_params_matcher(
                {"name": "INC-7", "description": "db down", "user_id_list": ["ou_1", "ou_2"]}
            ),
        ],
    )

    assert client.create_chat("INC-7", "db down", ["ou_1", "ou_2"], "war-room-7") == "oc_new"


def test_it_creates_a_chat_with_50_users_and_adds_the_rest_after(rsps, client):
    token_answer(rsps)
    users = [f"ou_{i}" for i in range(60)]
    create = rsps.post(
        f"{OPEN}/open-apis/im/v1/chats",
        json={"code": 0, "data": {"chat_id": "oc_new"}},
        match=[matchers.json_params_matcher({"user_id_list": users[:50]}, strict_match=False)],
    )
    add = rsps.post(
        f"{OPEN}/open-apis/im/v1/chats/oc_new/members",
        json={"code": 0, "data": {"invalid_id_list": []}},
        match=[matchers.json_params_matcher({"id_list": users[50:]})],
    )

    assert client.create_chat("INC-8", "", users, "u-8") == "oc_new"
    assert create.call_count == 1
    assert add.call_count == 1


def test_it_adds_chat_members_and_returns_the_ids_feishu_refused(rsps, client):
    token_answer(rsps)
    rsps.post(
        f"{OPEN}/open-apis/im/v1/chats/oc_1/members",
        json={"code": 0, "data": {"invalid_id_list": ["ou_x"], "not_existed_id_list": ["ou_y"]}},
        match=[
            bearer(),
            matchers.query_param_matcher({"member_id_type": "open_id", "succeed_type": "1"}),
            matchers.json_params_matcher({"id_list": ["ou_1", "ou_x", "ou_y"]}),
        ],
    )

    assert client.add_chat_members("oc_1", ["ou_1", "ou_x", "ou_y"]) == ["ou_x", "ou_y"]


def test_batch_get_ids_chunks_120_emails_into_3_calls(rsps, client):
    token_answer(rsps)
    emails = [f"user{i}@example.com" for i in range(120)]
    url = f"{OPEN}/open-apis/contact/v3/users/batch_get_id"
    for chunk in (emails[:50], emails[50:100], emails[100:]):
        rsps.post(
            url,
            json={"code": 0, "data": {"user_list": [{"email": e} for e in chunk]}},
            match=[
                bearer(),
                matchers.query_param_matcher({"user_id_type": "open_id"}),
                matchers.json_params_matcher({"emails": chunk}),
            ],
        )

    users = client.batch_get_ids(emails=emails)

    assert [u["email"] for u in users] == emails
    assert len([c for c in rsps.calls if c.request.url.startswith(url)]) == 3


def test_batch_get_ids_sends_emails_and_mobiles_in_the_same_call(rsps, client):
    token_answer(rsps)
    rsps.post(
        f"{OPEN}/open-apis/contact/v3/users/batch_get_id",
        json={
            "code": 0,
            "data": {
                "user_list": [
                    {"user_id": "ou_1", "email": "a@example.com"},
                    {"user_id": "ou_2", "mobile": "+8613800000000"},
                ]
            },
        },
        match=[
            matchers.json_params_matcher(
                {"emails": ["a@example.com"], "mobiles": ["+8613800000000"]}
            )
        ],
    )

    users = client.batch_get_ids(emails=["a@example.com"], mobiles=["+8613800000000"])

    assert [u["user_id"] for u in users] == ["ou_1", "ou_2"]


# --- OAuth ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("credentials", "host"),
    [(FEISHU, "accounts.feishu.cn"), (LARK, "accounts.larksuite.com")],
)
def test_authorize_url_is_exact_on_feishu_and_lark(credentials, host):
    url = FeishuClient(credentials).authorize_url("https://oncall.example.com/cb?x=1", "st8")

    assert url == (
        f"https://{host}/open-apis/authen/v1/authorize?response_type=code&client_id=cli_a1b2c3"
        "&redirect_uri=https%3A%2F%2Foncall.example.com%2Fcb%3Fx%3D1&state=st8"
    )


def test_authorize_url_carries_a_pkce_challenge():
    url = FeishuClient(FEISHU).authorize_url("https://oncall.example.com/cb", "st8", "ch-AL_1")

    assert url == (
        "https://accounts.feishu.cn/open-apis/authen/v1/authorize?response_type=code"
        "&client_id=cli_a1b2c3&redirect_uri=https%3A%2F%2Foncall.example.com%2Fcb&state=st8"
        "&code_challenge=ch-AL_1&code_challenge_method=S256"
    )


def test_it_exchanges_a_code_for_a_user_token(rsps, client):
    answer = {"code": 0, "access_token": "u-user", "expires_in": 7200, "token_type": "Bearer"}
    rsps.post(
        f"{OPEN}/open-apis/authen/v2/oauth/token",
        json=answer,
        match=[
            matchers.json_params_matcher(
                {
                    "grant_type": "authorization_code",
                    "client_id": "cli_a1b2c3",
                    "client_secret": SECRET,
                    "code": "code-1",
                    "redirect_uri": "https://oncall.example.com/cb",
                    "code_verifier": "verifier-1",
                }
            )
        ],
    )

    assert client.exchange_code("code-1", "https://oncall.example.com/cb", "verifier-1") == answer


def test_it_accepts_a_token_answer_without_a_code(rsps, client):
    rsps.post(
        f"{OPEN}/open-apis/authen/v2/oauth/token",
        json={"access_token": "u-user", "expires_in": 7200},
    )

    assert client.exchange_code("code-1", "https://oncall.example.com/cb")["access_token"] == (
        "u-user"
    )


def test_a_refused_code_raises_a_permanent_error_with_the_oauth_description(rsps, client):
    rsps.post(
        f"{OPEN}/open-apis/authen/v2/oauth/token",
        status=400,
        json={"code": 20050, "error": "invalid_grant", "error_description": "code expired"},
    )

    with pytest.raises(errors.PermanentError) as caught:
        client.exchange_code("code-1", "https://oncall.example.com/cb")

    assert caught.value.code == 20050
    assert caught.value.msg == "code expired"
    assert SECRET not in str(caught.value)


def test_it_reads_the_user_info_with_the_user_token(rsps, client):
    rsps.get(
        f"{OPEN}/open-apis/authen/v1/user_info",
        json={"code": 0, "data": {"open_id": "ou_1", "name": "Alice"}},
        match=[matchers.header_matcher({"Authorization": "Bearer u-user"})],
    )

    assert client.user_info("u-user") == {"open_id": "ou_1", "name": "Alice"}


# --- The tenant token -------------------------------------------------------------------------


def test_it_caches_the_tenant_token(rsps, client):
    fetch = token_answer(rsps)
    rsps.post(MESSAGES_URL, json={"code": 0, "data": {"message_id": "om_1"}}, match=[bearer()])

    send(client)
    FeishuClient(FEISHU).send_message("chat_id", "oc_123", CARD, "uuid-2")

    assert fetch.call_count == 1


def test_the_cache_key_hides_the_secret_and_depends_on_it():
    key = token_cache_key(FEISHU)

    assert SECRET not in key
    assert key != token_cache_key(AppCredentials("cli_a1b2c3", "other", OPEN, "x"))
    assert key != token_cache_key(LARK)


def test_it_does_not_cache_a_token_that_expires_within_5_minutes(rsps, client):
    fetch = token_answer(rsps, expire=300)
    rsps.post(MESSAGES_URL, json={"code": 0, "data": {"message_id": "om_1"}})

    send(client)
    send(client)

    assert fetch.call_count == 2


def test_every_documented_tenant_token_code_is_a_token_invalid():
    documented = {99991661, 99991663, 99991664, 99991665, 99991666, 99991668, 99991671, 99991677}
    assert documented == errors.TOKEN_INVALID_CODES


@pytest.mark.parametrize("code", sorted(errors.TOKEN_INVALID_CODES))
def test_it_refreshes_the_token_once_on(code, rsps, client):
    first = token_answer(rsps, token=TOKEN)
    rejected = rsps.post(
        MESSAGES_URL, status=400, json={"code": code, "msg": "token invalid"}, match=[bearer()]
    )
    rsps.post(
        TOKEN_URL, json={"code": 0, "tenant_access_token": NEW_TOKEN, "expire": 7200}
    )  # the second fetch, registered after the first so that it answers second
    accepted = rsps.post(
        MESSAGES_URL, json={"code": 0, "data": {"message_id": "om_9"}}, match=[bearer(NEW_TOKEN)]
    )

    assert send(client) == "om_9"
    assert (first.call_count, rejected.call_count, accepted.call_count) == (1, 1, 1)
    assert cache.get(token_cache_key(FEISHU)) == NEW_TOKEN


def test_a_second_token_invalid_is_raised_not_looped(rsps, client):
    fetch = token_answer(rsps)
    api = rsps.post(MESSAGES_URL, status=400, json={"code": 99991663, "msg": "invalid token"})

    with pytest.raises(errors.TokenInvalid):
        send(client)

    assert (fetch.call_count, api.call_count) == (2, 2)


@pytest.mark.parametrize(("code", "msg"), [(10014, "app secret invalid"), (10003, "invalid param")])
def test_a_wrong_app_secret_raises_an_auth_error_in_plain_words(rsps, client, code, msg):
    rsps.post(TOKEN_URL, status=400, json={"code": code, "msg": msg})

    with pytest.raises(errors.AuthError) as caught:
        send(client)

    message = str(caught.value)
    assert str(code) in message
    assert msg in message
    assert "cli_a1b2c3" in message
    assert SECRET not in message
    assert caught.value.permanent
    assert cache.get(token_cache_key(FEISHU)) is None


# --- Errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "permanent"),
    [
        (400, {"code": 230002, "msg": "Bot is not in the chat"}, errors.BotNotInChat, True),
        (
            400,
            {"code": 230013, "msg": "outside availability"},
            errors.UserOutsideAvailability,
            True,
        ),
        (400, {"code": 232009, "msg": "chat disbanded"}, errors.ChatDisbanded, True),
        (400, {"code": 230031, "msg": "card too old"}, errors.CardTooOld, True),
        (400, {"code": 234567, "msg": "something new"}, errors.PermanentError, True),
        (200, {"code": 1, "msg": "business error on HTTP 200"}, errors.PermanentError, True),
        (502, {"code": 1500, "msg": "internal error"}, errors.TransientError, False),
        (503, "<html>Service Unavailable</html>", errors.TransientError, False),
        (200, "not json at all", errors.TransientError, False),
        (200, [1, 2], errors.TransientError, False),
    ],
)
def test_each_failure_maps_to_its_error_class(rsps, client, status, body, error, permanent):
    token_answer(rsps)
    if isinstance(body, str):
        rsps.post(MESSAGES_URL, status=status, body=body)
    else:
        rsps.post(MESSAGES_URL, status=status, json=body)

    with pytest.raises(errors.FeishuError) as caught:
        send(client)

    assert type(caught.value) is error
    assert caught.value.permanent is permanent
    assert caught.value.http_status == status
    if isinstance(body, dict):
        assert caught.value.code == body["code"]
        assert caught.value.msg == body["msg"]


@pytest.mark.parametrize(
    "exception", [requests.ConnectTimeout(), requests.ReadTimeout(), requests.ConnectionError()]
)
def test_network_failures_are_transient(rsps, client, exception):
    token_answer(rsps)
    rsps.post(MESSAGES_URL, body=exception)

    with pytest.raises(errors.TransientError) as caught:
        send(client)

    assert caught.value.code is None
    assert not caught.value.permanent


def test_http_429_is_rate_limited_for_as_long_as_the_header_says(rsps, client):
    token_answer(rsps)
    rsps.post(
        MESSAGES_URL,
        status=429,
        json={"code": 99991400, "msg": "request trigger frequency limit"},
        headers={"x-ogw-ratelimit-reset": "3"},
    )

    with pytest.raises(errors.RateLimited) as caught:
        send(client)

    assert caught.value.retry_after == 3.0
    assert caught.value.code == 99991400


def test_a_rate_limit_at_token_fetch_is_not_an_auth_error(rsps, client):
    rsps.post(TOKEN_URL, status=429, json={"code": 99991400, "msg": "too many requests"})

    with pytest.raises(errors.RateLimited):
        send(client)


def test_230020_is_rate_limited_for_one_second_by_default(rsps, client):
    token_answer(rsps)
    rsps.post(MESSAGES_URL, status=400, json={"code": 230020, "msg": "frequency limit"})

    with pytest.raises(errors.RateLimited) as caught:
        send(client)

    assert caught.value.retry_after == 1.0


# --- Secrets stay secret ----------------------------------------------------------------------


def test_no_secret_or_token_appears_in_error_messages_or_logs(rsps, client, caplog):
    caplog.set_level(logging.DEBUG)
    token_answer(rsps)
    rsps.post(MESSAGES_URL, json={"code": 0, "data": {"message_id": "om_1"}})
    # A provider that echoes what it was sent must not smuggle the secret into our message.
    rsps.patch(
        f"{MESSAGES_URL}/om_1",
        status=400,
        json={"code": 230002, "msg": f"bad header Bearer {TOKEN}, app_secret={SECRET}"},
    )
    rsps.post(f"{OPEN}/open-apis/interactive/v1/card/update", body=requests.ConnectionError())
    rsps.get(
        f"{OPEN}/open-apis/authen/v1/user_info",
        status=400,
        json={"code": 99991668, "msg": "user token u-user-secret invalid"},
    )
    raised = []

    send(client)
    for call in (
        lambda: client.patch_message("om_1", CARD),
        lambda: client.update_card_delayed("c-card-token", CARD),
        lambda: client.user_info("u-user-secret"),
    ):
        with pytest.raises(errors.FeishuError) as caught:
            call()
        raised.append(caught.value)

    texts = [str(e) for e in raised] + [e.msg for e in raised] + [caplog.text]
    for secret in (SECRET, TOKEN, "c-card-token", "u-user-secret", "Authorization"):
        assert not [text for text in texts if secret in text], secret
    assert "/open-apis/im/v1/messages" in caplog.text  # the log says what failed, though


def test_the_credentials_repr_hides_the_secret():
    assert SECRET not in repr(FEISHU)


# --- Rate limits ------------------------------------------------------------------------------


class ScriptedLimiter:
    """Answers acquire() with the given waits (then 0.0) and records what it was asked."""

    def __init__(self, *waits: float):
        self.waits = list(waits)
        self.asked: list[list[Limit]] = []

    def acquire(self, limits):
        self.asked.append(list(limits))
        return self.waits.pop(0) if self.waits else 0.0


def test_it_waits_as_the_limiter_says_before_a_call(rsps):
    cache.set(token_cache_key(FEISHU), TOKEN)
    rsps.post(MESSAGES_URL, json={"code": 0, "data": {"message_id": "om_1"}})
    limiter, slept = ScriptedLimiter(0.25, 0.5), []
    client = FeishuClient(FEISHU, limiter=limiter, sleep=slept.append)

    send(client)

    assert slept == [0.25, 0.5]
    assert limiter.asked[-1] == [
        Limit("feishu:cli_a1b2c3:send", 1000, 60, guard_ms=100),
        Limit("feishu:receiver:chat_id:oc_123", 5, 1, guard_ms=100),
        Limit("feishu:cli_a1b2c3:api", 50, 1, guard_ms=100),
    ]


def test_card_updates_are_limited_per_message_and_by_the_apps_50_per_second(rsps):
    cache.set(token_cache_key(FEISHU), TOKEN)
    rsps.patch(f"{MESSAGES_URL}/om_1", json={"code": 0})
    rsps.get(f"{OPEN}/open-apis/im/v1/chats", json={"code": 0, "data": {"items": []}})
    limiter = ScriptedLimiter()
    client = FeishuClient(FEISHU, limiter=limiter)

    client.patch_message("om_1", CARD)
    client.list_chats()

    app_wide = Limit("feishu:cli_a1b2c3:api", 50, 1, guard_ms=100)
    assert limiter.asked == [
        [Limit("feishu:message:om_1", 5, 1, guard_ms=100), app_wide],
        [app_wide],
    ]


def test_delayed_card_updates_and_token_fetches_share_the_apps_50_per_second(rsps):
    token_answer(rsps)
    rsps.post(f"{OPEN}/open-apis/interactive/v1/card/update", json={"code": 0})
    limiter = ScriptedLimiter()
    client = FeishuClient(FEISHU, limiter=limiter)

    client.update_card_delayed("c-token", CARD, message_id="om_1")

    app_wide = Limit("feishu:cli_a1b2c3:api", 50, 1, guard_ms=100)
    assert limiter.asked == [
        [app_wide],  # the tenant token
        [Limit("feishu:message:om_1", 5, 1, guard_ms=100), app_wide],
    ]


@pytest.mark.django_db
def test_sends_and_card_updates_together_get_no_more_than_50_calls_in_a_second(rsps):
    cache.set(token_cache_key(FEISHU), TOKEN)
    rsps.post(MESSAGES_URL, json={"code": 0, "data": {"message_id": "om_1"}})
    rsps.patch(re.compile(f"{MESSAGES_URL}/om_.*"), json={"code": 0})
    limiter = DatabaseLimiter(RateWindow, clock=lambda: 1_000.0)  # one second for every call
    client = FeishuClient(FEISHU, limiter=limiter, max_wait=0)
    admitted = 0

    calls = []
    for n in range(40):
        calls.append(functools.partial(client.send_message, "open_id", f"ou_{n}", CARD, f"u{n}"))
        calls.append(functools.partial(client.patch_message, f"om_{n}", CARD))
    for call in calls:
        try:
            call()
        except errors.RateLimited:
            continue
        admitted += 1

    assert admitted == 50


def test_it_raises_rate_limited_instead_of_waiting_past_max_wait(rsps):
    cache.set(token_cache_key(FEISHU), TOKEN)
    client = FeishuClient(FEISHU, limiter=ScriptedLimiter(45.0), sleep=pytest.fail, max_wait=30)

    with pytest.raises(errors.RateLimited) as caught:
        send(client)

    assert caught.value.retry_after == 45.0
    assert not rsps.calls


# --- The kept-alive session of card sends ------------------------------------------------------


def test_the_pooled_session_is_kept_for_the_thread_and_process():
    assert pooled_session() is pooled_session()


def test_each_thread_has_its_own_pooled_session():
    sessions = []
    thread = threading.Thread(target=lambda: sessions.append(pooled_session()))
    thread.start()
    thread.join()
    assert sessions[0] is not pooled_session()


def test_a_forked_process_does_not_reuse_its_parents_pooled_session(monkeypatch):
    parents = pooled_session()
    monkeypatch.setattr(client_module.os, "getpid", lambda: -1)
    assert pooled_session() is not parents
