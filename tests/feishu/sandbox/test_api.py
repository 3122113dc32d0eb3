"""The sandbox's Open API, driven by the console's real FeishuClient over HTTP (live server),
and by raw requests where the exact status, code or header is the point."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from integrations.feishu.client import errors
from integrations.feishu_sandbox.api import app_limits, p2p_chat_id
from integrations.feishu_sandbox.limits import API_PER_SECOND
from integrations.feishu_sandbox.models import (
    AccessToken,
    ApiCall,
    CardUpdateToken,
    Fault,
    SandboxApp,
    SandboxChat,
    SandboxMessage,
    secret_hash,
)
from integrations.feishu_sandbox.sliding_window import sandbox_limiter

SHARED_CARD = {
    "config": {"update_multi": True},
    "header": {"title": {"tag": "plain_text", "content": "Disk full on db-1"}},
    "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": "**P1** firing"}}],
}
PRIVATE_CARD = {"elements": [{"tag": "hr"}]}


# --- Helpers -----------------------------------------------------------------------------------


def call(base, method, path, *, token=None, params=None, body=None, headers=None):
    """A raw Open API call: (HTTP status, parsed JSON body, response headers)."""
    sent_headers = dict(headers or {})
    if token:
        sent_headers["Authorization"] = f"Bearer {token}"
    response = requests.request(
        method,
        f"{base}/open-apis/{path}",
        params=params,
        json=body,
        headers=sent_headers,
        timeout=10,
    )
    return response.status_code, response.json(), response.headers


def fetch_token(base, app):
    status, payload, _ = call(
        base,
        "POST",
        "auth/v3/tenant_access_token/internal",
        body={"app_id": app.app_id, "app_secret": app.app_secret},
    )
    assert status == 200, payload
    return payload


def send_raw(base, token, receive_id_type, receive_id, msg_type, content, uuid_=""):
    body = {"receive_id": receive_id, "msg_type": msg_type, "content": content}
    if uuid_:
        body["uuid"] = uuid_
    return call(
        base,
        "POST",
        "im/v1/messages",
        token=token,
        params={"receive_id_type": receive_id_type},
        body=body,
    )


def new_uuid():
    return str(uuid.uuid4())


@pytest.fixture
def token(sandbox_base_url, sandbox_app):
    return fetch_token(sandbox_base_url, sandbox_app)["tenant_access_token"]


@pytest.fixture
def alice_open_id(sandbox_app, sandbox_people):
    return sandbox_app.open_id_of(sandbox_people["alice"])


def make_chats(app, count, **fields):
    chats = []
    for i in range(count):
        chat = SandboxChat.objects.create(name=f"Chat {i}", **fields)
        chat.bots.add(app)
        chats.append(chat)
    return chats


# --- Tenant access token -----------------------------------------------------------------------


def test_it_issues_a_tenant_token_for_the_right_credentials(sandbox_base_url, sandbox_app):
    payload = fetch_token(sandbox_base_url, sandbox_app)

    assert payload["code"] == 0
    assert payload["msg"] == "ok"
    assert payload["tenant_access_token"].startswith("t-")
    assert 7190 <= payload["expire"] <= 7200
    assert "data" not in payload
    stored = AccessToken.objects.get(app=sandbox_app)
    assert stored.token_hash == secret_hash(payload["tenant_access_token"])


def test_it_stores_tenant_tokens_hashed_only(sandbox_base_url, sandbox_app):
    token = fetch_token(sandbox_base_url, sandbox_app)["tenant_access_token"]

    assert not AccessToken.objects.filter(token_hash=token).exists()
    assert AccessToken.objects.filter(token_hash=secret_hash(token)).exists()


def test_it_returns_the_same_token_while_it_has_30_minutes_or_more_left(
    sandbox_base_url, sandbox_app
):
    first = fetch_token(sandbox_base_url, sandbox_app)
    second = fetch_token(sandbox_base_url, sandbox_app)

    assert second["tenant_access_token"] == first["tenant_access_token"]
    assert second["expire"] <= first["expire"]
    assert AccessToken.objects.filter(app=sandbox_app).count() == 1


def test_it_issues_a_new_token_below_30_minutes_and_both_stay_valid(sandbox_base_url, sandbox_app):
    old = fetch_token(sandbox_base_url, sandbox_app)["tenant_access_token"]
    AccessToken.objects.filter(app=sandbox_app).update(
        expires_at=timezone.now() + timedelta(minutes=20)
    )

    new = fetch_token(sandbox_base_url, sandbox_app)["tenant_access_token"]

    assert new != old
    for token in (old, new):
        status, payload, _ = call(sandbox_base_url, "GET", "im/v1/chats", token=token)
        assert (status, payload["code"]) == (200, 0)


def test_the_client_gets_a_token_and_uses_it(sandbox_client, sandbox_chat):
    assert sandbox_client.list_chats()[0]["chat_id"] == sandbox_chat.chat_id


def test_it_refuses_a_wrong_app_secret_with_code_10014(sandbox_app, make_sandbox_client):
    client = make_sandbox_client(sandbox_app, secret="not-the-secret")

    with pytest.raises(errors.AuthError) as raised:
        client.tenant_access_token()

    assert raised.value.code == 10014
    assert not AccessToken.objects.exists()


def test_it_refuses_an_unknown_app_id_with_code_10003(sandbox_base_url, db):
    status, payload, _ = call(
        sandbox_base_url,
        "POST",
        "auth/v3/tenant_access_token/internal",
        body={"app_id": "cli_nobody", "app_secret": "x"},
    )

    assert (status, payload["code"]) == (400, 10003)


def test_it_answers_99991661_when_the_token_is_missing(sandbox_base_url, sandbox_app):
    status, payload, _ = call(sandbox_base_url, "GET", "im/v1/chats")

    assert (status, payload["code"]) == (400, 99991661)


def test_it_answers_99991663_for_an_unknown_token(sandbox_base_url, sandbox_app):
    status, payload, _ = call(sandbox_base_url, "GET", "im/v1/chats", token="t-" + "0" * 40)

    assert (status, payload["code"]) == (400, 99991663)


def test_it_answers_99991663_for_an_expired_token(sandbox_base_url, sandbox_app, token):
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    status, payload, _ = call(sandbox_base_url, "GET", "im/v1/chats", token=token)

    assert (status, payload["code"]) == (400, 99991663)


def test_it_answers_99991671_for_a_token_of_the_wrong_format(sandbox_base_url, sandbox_app):
    status, payload, _ = call(sandbox_base_url, "GET", "im/v1/chats", token="not-a-token")

    assert (status, payload["code"]) == (400, 99991671)


def test_the_client_refreshes_a_token_the_sandbox_no_longer_accepts(sandbox_client, sandbox_chat):
    sandbox_client.list_chats()
    AccessToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    assert len(sandbox_client.list_chats()) == 1

    assert AccessToken.objects.filter(expires_at__gt=timezone.now()).count() == 1


# --- Sending -----------------------------------------------------------------------------------


def test_it_sends_a_card_to_a_person_by_open_id(sandbox_client, sandbox_people, alice_open_id):
    message_id = sandbox_client.send_message("open_id", alice_open_id, SHARED_CARD, new_uuid())

    message = SandboxMessage.objects.get(message_id=message_id)
    assert message.user == sandbox_people["alice"]
    assert message.chat is None
    assert message.msg_type == "interactive"
    assert json.loads(message.content) == SHARED_CARD


def test_the_answer_is_feishus_message_object(
    sandbox_base_url, sandbox_app, sandbox_people, token, alice_open_id
):
    status, payload, _ = send_raw(
        sandbox_base_url, token, "open_id", alice_open_id, "text", '{"text":"hi"}'
    )

    assert (status, payload["code"], payload["msg"]) == (200, 0, "success")
    data = payload["data"]
    assert data["message_id"].startswith("om_")
    assert data["msg_type"] == "text"
    assert data["create_time"].isdigit()
    assert data["update_time"] == data["create_time"]
    assert (data["deleted"], data["updated"]) == (False, False)
    assert data["chat_id"] == p2p_chat_id(sandbox_app, sandbox_people["alice"])
    assert data["sender"]["id"] == sandbox_app.app_id
    assert (data["sender"]["id_type"], data["sender"]["sender_type"]) == ("app_id", "app")
    assert data["body"] == {"content": '{"text":"hi"}'}
    assert "root_id" not in data
    assert "parent_id" not in data


def test_it_sends_to_a_person_by_email(sandbox_client, sandbox_people):
    message_id = sandbox_client.send_text("email", "Bob@Example.com", "hello", new_uuid())

    assert SandboxMessage.objects.get(message_id=message_id).user == sandbox_people["bob"]


def test_it_sends_to_a_person_by_user_id_and_union_id(sandbox_client, sandbox_people):
    carol = sandbox_people["carol"]

    by_user_id = sandbox_client.send_text("user_id", carol.user_id, "a", new_uuid())
    by_union_id = sandbox_client.send_text("union_id", carol.union_id, "b", new_uuid())

    assert SandboxMessage.objects.get(message_id=by_user_id).user == carol
    assert SandboxMessage.objects.get(message_id=by_union_id).user == carol


def test_it_sends_a_card_to_a_chat(sandbox_client, sandbox_chat):
    message_id = sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "u-1")

    assert SandboxMessage.objects.get(message_id=message_id).chat == sandbox_chat


def test_it_sends_to_a_persons_direct_chat_by_its_chat_id(
    sandbox_client, sandbox_app, sandbox_people, alice_open_id
):
    direct_chat = p2p_chat_id(sandbox_app, sandbox_people["alice"])

    message_id = sandbox_client.send_text("chat_id", direct_chat, "in the p2p chat", new_uuid())

    assert SandboxMessage.objects.get(message_id=message_id).user == sandbox_people["alice"]


def test_the_same_uuid_within_an_hour_returns_the_first_message(sandbox_client, sandbox_chat):
    first = sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "same")
    again = sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "same")

    assert again == first
    assert SandboxMessage.objects.count() == 1


def test_the_same_uuid_after_an_hour_sends_again(sandbox_client, sandbox_chat):
    first = sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "same")
    SandboxMessage.objects.update(created_at=timezone.now() - timedelta(hours=1, seconds=1))

    again = sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "same")

    assert again != first


def test_it_refuses_a_chat_without_the_bot_with_230002(sandbox_client, sandbox_people):
    chat = SandboxChat.objects.create(name="Database team")

    with pytest.raises(errors.BotNotInChat) as raised:
        sandbox_client.send_message("chat_id", chat.chat_id, SHARED_CARD, new_uuid())

    assert raised.value.code == 230002


def test_it_refuses_a_person_outside_the_apps_availability_with_230013(
    sandbox_client, sandbox_app, sandbox_people
):
    sandbox_app.available_to_all = False
    sandbox_app.save()
    sandbox_app.available_users.add(sandbox_people["alice"])

    with pytest.raises(errors.UserOutsideAvailability) as raised:
        sandbox_client.send_text("email", "bob@example.com", "hi", new_uuid())

    assert raised.value.code == 230013
    assert sandbox_client.send_text("email", "alice@example.com", "hi", new_uuid())


def test_it_refuses_a_disbanded_chat_with_232009(sandbox_client, sandbox_chat):
    sandbox_chat.disbanded = True
    sandbox_chat.save()

    with pytest.raises(errors.ChatDisbanded) as raised:
        sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, new_uuid())

    assert raised.value.code == 232009


def test_it_refuses_an_open_id_of_another_app_with_230034(sandbox_client, sandbox_people, db):
    other_app = SandboxApp.objects.create(name="Other app")
    foreign_open_id = other_app.open_id_of(sandbox_people["alice"])

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.send_text("open_id", foreign_open_id, "hi", new_uuid())

    assert raised.value.code == 230034


def test_it_refuses_a_card_over_30_kb_with_230025(sandbox_client, sandbox_chat):
    huge = {"elements": [{"tag": "markdown", "content": "x" * 31 * 1024}]}

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.send_message("chat_id", sandbox_chat.chat_id, huge, new_uuid())

    assert raised.value.code == 230025
    assert not SandboxMessage.objects.exists()


def test_it_refuses_text_content_that_is_not_json_with_230001(
    sandbox_base_url, sandbox_chat, token
):
    status, payload, _ = send_raw(
        sandbox_base_url, token, "chat_id", sandbox_chat.chat_id, "text", "hello"
    )

    assert (status, payload["code"]) == (400, 230001)


def test_it_refuses_text_content_without_text_with_230001(sandbox_base_url, sandbox_chat, token):
    status, payload, _ = send_raw(
        sandbox_base_url, token, "chat_id", sandbox_chat.chat_id, "text", '{"title": "x"}'
    )

    assert (status, payload["code"]) == (400, 230001)


def test_it_refuses_a_card_that_is_not_card_json_with_230099(sandbox_base_url, sandbox_chat, token):
    status, payload, _ = send_raw(
        sandbox_base_url, token, "chat_id", sandbox_chat.chat_id, "interactive", "{broken"
    )

    assert (status, payload["code"]) == (400, 230099)
    assert "200621" in payload["msg"]


def test_it_accepts_rich_text_posts(sandbox_base_url, sandbox_chat, token):
    post = {"zh_cn": {"title": "Incident", "content": [[{"tag": "text", "text": "P1"}]]}}

    status, payload, _ = send_raw(
        sandbox_base_url, token, "chat_id", sandbox_chat.chat_id, "post", json.dumps(post)
    )

    assert (status, payload["code"]) == (200, 0)


def test_it_refuses_an_unknown_receive_id_type_with_99992402(sandbox_base_url, sandbox_chat, token):
    status, payload, _ = send_raw(sandbox_base_url, token, "phone", "x", "text", '{"text":"a"}')

    assert (status, payload["code"]) == (400, 99992402)


# --- Replying ----------------------------------------------------------------------------------


def test_it_replies_in_the_same_chat(sandbox_client, sandbox_chat):
    parent = sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "p")

    reply_id = sandbox_client.reply_text(parent, "Claimed by Alice", new_uuid())

    reply = SandboxMessage.objects.get(message_id=reply_id)
    assert reply.chat == sandbox_chat
    assert reply.reply_to.message_id == parent
    assert json.loads(reply.content) == {"text": "Claimed by Alice"}


def test_a_reply_to_a_reply_names_the_root_and_the_parent(sandbox_base_url, sandbox_chat, token):
    _, sent, _ = send_raw(
        sandbox_base_url, token, "chat_id", sandbox_chat.chat_id, "text", '{"text":"root"}'
    )
    root = sent["data"]["message_id"]
    body = {"msg_type": "text", "content": '{"text":"r"}'}
    _, first, _ = call(
        sandbox_base_url, "POST", f"im/v1/messages/{root}/reply", token=token, body=body
    )
    parent = first["data"]["message_id"]

    _, second, _ = call(
        sandbox_base_url, "POST", f"im/v1/messages/{parent}/reply", token=token, body=body
    )

    assert second["data"]["root_id"] == root
    assert second["data"]["parent_id"] == parent
    assert second["data"]["chat_id"] == sandbox_chat.chat_id


def test_a_reply_to_a_direct_message_stays_in_the_direct_chat(
    sandbox_client, sandbox_people, alice_open_id
):
    parent = sandbox_client.send_text("open_id", alice_open_id, "Are you there?", new_uuid())

    reply_id = sandbox_client.reply_text(parent, "Still there?", new_uuid())

    assert SandboxMessage.objects.get(message_id=reply_id).user == sandbox_people["alice"]


def test_it_refuses_to_reply_to_an_unknown_message_with_230001(sandbox_client, sandbox_app):
    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.reply_text("om_nothing", "hi", new_uuid())

    assert raised.value.code == 230001


# --- Updating a card (PATCH) -------------------------------------------------------------------


def send_card(client, chat, card=SHARED_CARD):
    return client.send_message("chat_id", chat.chat_id, card, new_uuid())


def test_it_updates_a_shared_card(sandbox_client, sandbox_chat):
    message_id = send_card(sandbox_client, sandbox_chat)
    claimed = {
        **SHARED_CARD,
        "elements": [{"tag": "div", "text": {"tag": "plain_text", "content": "Claimed"}}],
    }

    sandbox_client.patch_message(message_id, claimed)

    message = SandboxMessage.objects.get(message_id=message_id)
    assert json.loads(message.content) == claimed
    assert message.update_count == 1
    assert message.updated_at is not None


def test_an_updated_message_says_so(sandbox_base_url, sandbox_client, sandbox_chat, token):
    message_id = send_card(sandbox_client, sandbox_chat)
    sandbox_client.patch_message(message_id, SHARED_CARD)
    body = {"msg_type": "text", "content": '{"text":"r"}'}

    _, reply, _ = call(
        sandbox_base_url, "POST", f"im/v1/messages/{message_id}/reply", token=token, body=body
    )
    status, payload, _ = call(
        sandbox_base_url,
        "PATCH",
        f"im/v1/messages/{message_id}",
        token=token,
        body={"content": json.dumps(SHARED_CARD)},
    )

    assert reply["data"]["parent_id"] == message_id
    assert (status, payload) == (200, {"code": 0, "msg": "ok", "data": {}})


def test_it_refuses_a_new_card_without_update_multi_with_230099(sandbox_client, sandbox_chat):
    message_id = send_card(sandbox_client, sandbox_chat)

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.patch_message(message_id, PRIVATE_CARD)

    assert raised.value.code == 230099
    assert "update_multi" in raised.value.msg


def test_it_refuses_to_update_a_card_that_was_not_shared_with_230099(sandbox_client, sandbox_chat):
    message_id = send_card(sandbox_client, sandbox_chat, PRIVATE_CARD)

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.patch_message(message_id, SHARED_CARD)

    assert raised.value.code == 230099


def test_it_refuses_a_card_older_than_14_days_with_230031(sandbox_client, sandbox_chat):
    message_id = send_card(sandbox_client, sandbox_chat)
    SandboxMessage.objects.update(created_at=timezone.now() - timedelta(days=14, minutes=1))

    with pytest.raises(errors.CardTooOld) as raised:
        sandbox_client.patch_message(message_id, SHARED_CARD)

    assert raised.value.code == 230031


def test_it_refuses_to_update_an_unknown_message_with_230001(sandbox_client, sandbox_app):
    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.patch_message("om_unknown", SHARED_CARD)

    assert raised.value.code == 230001


def test_it_refuses_to_update_a_text_message_with_230001(sandbox_client, sandbox_chat):
    message_id = sandbox_client.send_text("chat_id", sandbox_chat.chat_id, "hi", new_uuid())

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.patch_message(message_id, SHARED_CARD)

    assert raised.value.code == 230001


def test_it_refuses_to_update_another_apps_card_with_230012(
    sandbox_client, make_sandbox_client, sandbox_chat
):
    other_app = SandboxApp.objects.create(name="Other app")
    sandbox_chat.bots.add(other_app)
    message_id = send_card(make_sandbox_client(other_app), sandbox_chat)

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.patch_message(message_id, SHARED_CARD)

    assert raised.value.code == 230012


# --- Delayed card update -----------------------------------------------------------------------


def update_token_for(message_id, **fields):
    message = SandboxMessage.objects.get(message_id=message_id)
    return CardUpdateToken.objects.create(
        token=CardUpdateToken.new_token(), message=message, **fields
    ).token


def test_a_card_update_token_works_twice_then_is_refused_with_300040(sandbox_client, sandbox_chat):
    message_id = send_card(sandbox_client, sandbox_chat)
    token = update_token_for(message_id)

    sandbox_client.update_card_delayed(token, SHARED_CARD, message_id=message_id)
    sandbox_client.update_card_delayed(token, SHARED_CARD, message_id=message_id)
    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.update_card_delayed(token, SHARED_CARD, message_id=message_id)

    assert raised.value.code == 300040
    assert SandboxMessage.objects.get(message_id=message_id).update_count == 2
    assert CardUpdateToken.objects.get(token=token).uses == 2


def test_it_refuses_a_card_update_token_older_than_30_minutes_with_300030(
    sandbox_client, sandbox_chat
):
    message_id = send_card(sandbox_client, sandbox_chat)
    token = update_token_for(message_id, created_at=timezone.now() - timedelta(minutes=31))

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.update_card_delayed(token, SHARED_CARD)

    assert raised.value.code == 300030


def test_a_delayed_update_of_a_card_that_is_not_shared_needs_open_ids(
    sandbox_client, sandbox_chat, sandbox_app, sandbox_people
):
    message_id = send_card(sandbox_client, sandbox_chat)
    token = update_token_for(message_id)

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.update_card_delayed(token, PRIVATE_CARD)
    open_ids = [sandbox_app.open_id_of(sandbox_people["alice"])]
    sandbox_client.update_card_delayed(token, {**PRIVATE_CARD, "open_ids": open_ids})

    assert raised.value.code == 300090
    stored = json.loads(SandboxMessage.objects.get(message_id=message_id).content)
    assert stored == PRIVATE_CARD


def test_it_refuses_a_malformed_card_update_token_with_300020(sandbox_base_url, token):
    status, payload, _ = call(
        sandbox_base_url,
        "POST",
        "interactive/v1/card/update",
        token=token,
        body={"token": "not-a-card-token", "card": SHARED_CARD},
    )

    assert (status, payload["code"]) == (400, 300020)


# --- Listing chats -----------------------------------------------------------------------------


def test_it_pages_through_the_bots_chats_with_an_opaque_page_token(
    sandbox_base_url, sandbox_app, token
):
    chats = make_chats(sandbox_app, 5)
    SandboxChat.objects.create(name="Without the bot")
    make_chats(sandbox_app, 1, disbanded=True)
    seen, page_token, pages = [], "", 0

    while True:
        params = {"page_size": 2, **({"page_token": page_token} if page_token else {})}
        _, payload, _ = call(sandbox_base_url, "GET", "im/v1/chats", token=token, params=params)
        data = payload["data"]
        seen += [item["chat_id"] for item in data["items"]]
        pages += 1
        if not data["has_more"]:
            assert "page_token" not in data
            break
        page_token = data["page_token"]
        assert not page_token.isdigit()

    assert pages == 3
    assert seen == [chat.chat_id for chat in chats]


def test_a_listed_chat_has_feishus_fields(sandbox_base_url, sandbox_app, sandbox_chat, token):
    _, payload, _ = call(sandbox_base_url, "GET", "im/v1/chats", token=token)

    (item,) = payload["data"]["items"]
    assert item["chat_id"] == sandbox_chat.chat_id
    assert item["name"] == "SRE on-call"
    assert item["owner_id"] == sandbox_app.open_id_of(sandbox_chat.owner)
    assert item["owner_id_type"] == "open_id"
    assert (item["external"], item["chat_status"]) == (False, "normal")
    assert set(item) >= {"avatar", "description", "tenant_key"}


def test_the_client_lists_every_chat_of_the_bot(sandbox_client, sandbox_app):
    chats = make_chats(sandbox_app, 3)

    listed = sandbox_client.list_chats()

    assert [item["chat_id"] for item in listed] == [chat.chat_id for chat in chats]


def test_it_refuses_a_forged_page_token_with_232001(sandbox_base_url, sandbox_app, token):
    status, payload, _ = call(
        sandbox_base_url, "GET", "im/v1/chats", token=token, params={"page_token": "bogus"}
    )

    assert (status, payload["code"]) == (400, 232001)


# --- Creating chats and adding members ---------------------------------------------------------


def test_it_creates_a_chat_with_the_bot_and_the_people_once_per_uuid(
    sandbox_client, sandbox_app, sandbox_people
):
    open_ids = [sandbox_app.open_id_of(sandbox_people[key]) for key in ("alice", "bob")]

    chat_id = sandbox_client.create_chat("INC-42 war room", "Disk full", open_ids, "war-42")
    again = sandbox_client.create_chat("INC-42 war room", "Disk full", open_ids, "war-42")

    assert again == chat_id
    chat = SandboxChat.objects.get(chat_id=chat_id)
    assert (chat.name, chat.description) == ("INC-42 war room", "Disk full")
    assert set(chat.members.all()) == {sandbox_people["alice"], sandbox_people["bob"]}
    assert list(chat.bots.all()) == [sandbox_app]
    assert chat.owner is None
    assert SandboxChat.objects.count() == 1


def test_it_refuses_an_unknown_open_id_in_a_new_chat_with_99992351(sandbox_client, sandbox_app):
    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.create_chat("Room", "", ["ou_nobody"], new_uuid())

    assert raised.value.code == 99992351
    assert not SandboxChat.objects.exists()


def test_it_refuses_more_than_50_people_in_a_new_chat_with_99992402(
    sandbox_base_url, sandbox_app, token
):
    status, payload, _ = call(
        sandbox_base_url,
        "POST",
        "im/v1/chats",
        token=token,
        params={"user_id_type": "open_id"},
        body={"name": "Too big", "user_id_list": [f"ou_{i}" for i in range(51)]},
    )

    assert (status, payload["code"]) == (400, 99992402)


def test_it_adds_members_to_a_chat(sandbox_client, sandbox_app, sandbox_chat, sandbox_people):
    carol = sandbox_people["carol"]

    refused = sandbox_client.add_chat_members(sandbox_chat.chat_id, [sandbox_app.open_id_of(carol)])

    assert refused == []
    assert carol in sandbox_chat.members.all()


def test_with_succeed_type_1_it_adds_the_usable_ids_and_lists_the_others(
    sandbox_base_url, sandbox_app, sandbox_chat, sandbox_people, token
):
    sandbox_app.available_to_all = False
    sandbox_app.save()
    sandbox_app.available_users.add(sandbox_people["carol"])
    carol, dave = (sandbox_app.open_id_of(sandbox_people[key]) for key in ("carol", "dave"))

    status, payload, _ = call(
        sandbox_base_url,
        "POST",
        f"im/v1/chats/{sandbox_chat.chat_id}/members",
        token=token,
        params={"member_id_type": "open_id", "succeed_type": "1"},
        body={"id_list": [carol, dave, "ou_nobody"]},
    )

    assert status == 200
    assert payload["data"] == {
        "invalid_id_list": [dave],
        "not_existed_id_list": ["ou_nobody"],
        "pending_approval_id_list": [],
    }
    assert sandbox_people["carol"] in sandbox_chat.members.all()


def test_the_client_adds_whoever_it_can_and_gets_back_the_unknown_ids(
    sandbox_client, sandbox_chat, sandbox_app, sandbox_people
):
    carol = sandbox_app.open_id_of(sandbox_people["carol"])

    refused = sandbox_client.add_chat_members(sandbox_chat.chat_id, [carol, "ou_nobody"])

    assert refused == ["ou_nobody"]
    assert sandbox_chat.members.filter(pk=sandbox_people["carol"].pk).exists()


def test_it_refuses_to_add_members_to_a_chat_without_the_bot_with_232011(
    sandbox_client, sandbox_app, sandbox_people
):
    chat = SandboxChat.objects.create(name="Database team")

    with pytest.raises(errors.PermanentError) as raised:
        sandbox_client.add_chat_members(
            chat.chat_id, [sandbox_app.open_id_of(sandbox_people["alice"])]
        )

    assert raised.value.code == 232011


# --- Finding people ----------------------------------------------------------------------------


def test_it_finds_open_ids_by_email_and_mobile(sandbox_client, sandbox_app, sandbox_people):
    alice, bob = sandbox_people["alice"], sandbox_people["bob"]

    found = sandbox_client.batch_get_ids(
        emails=["alice@example.com", "ghost@example.com"], mobiles=["13800000002"]
    )

    assert [{k: v for k, v in entry.items() if k != "status"} for entry in found] == [
        {"email": "alice@example.com", "user_id": sandbox_app.open_id_of(alice)},
        {"email": "ghost@example.com"},
        {"mobile": "13800000002", "user_id": sandbox_app.open_id_of(bob)},
    ]


def test_people_outside_the_apps_range_come_back_without_an_id(
    sandbox_client, sandbox_app, sandbox_people
):
    sandbox_app.available_to_all = False
    sandbox_app.save()

    found = sandbox_client.batch_get_ids(emails=["alice@example.com"])

    assert found == [{"email": "alice@example.com"}]


def test_it_refuses_more_than_50_emails_with_99992402(sandbox_base_url, sandbox_app, token):
    status, payload, _ = call(
        sandbox_base_url,
        "POST",
        "contact/v3/users/batch_get_id",
        token=token,
        params={"user_id_type": "open_id"},
        body={"emails": [f"p{i}@example.com" for i in range(51)]},
    )

    assert (status, payload["code"]) == (400, 99992402)


# --- Rate limits -------------------------------------------------------------------------------
# On a stopped clock (``stopped_clock``): however slow the machine, a burst is one second's.


def use_up_the_second(app, api: str) -> None:
    """Count an app's 50 calls a second to ``api``, as 50 calls would."""
    limiter = sandbox_limiter()  # the one the sandbox counts with: Redis in CI, else the DB
    for _ in range(API_PER_SECOND):
        assert limiter.acquire(app_limits(app.app_id, api)) == 0


@pytest.mark.usefixtures("stopped_clock")
def test_a_sixth_message_to_one_person_within_a_second_gets_230020(sandbox_client, alice_open_id):
    sandbox_client.tenant_access_token()
    for _ in range(5):
        sandbox_client.send_text("open_id", alice_open_id, "page", new_uuid())

    with pytest.raises(errors.RateLimited) as raised:
        sandbox_client.send_text("open_id", alice_open_id, "page", new_uuid())

    assert raised.value.code == 230020
    assert raised.value.retry_after >= 1
    assert SandboxMessage.objects.count() == 5


@pytest.mark.usefixtures("stopped_clock")
def test_a_chats_budget_is_shared_by_every_bot_in_it(
    sandbox_client, make_sandbox_client, sandbox_chat
):
    other_app = SandboxApp.objects.create(name="Other app")
    sandbox_chat.bots.add(other_app)
    other_client = make_sandbox_client(other_app)
    for client in (sandbox_client, other_client):
        client.tenant_access_token()
    for client in (sandbox_client, other_client, sandbox_client, other_client, sandbox_client):
        client.send_text("chat_id", sandbox_chat.chat_id, "page", new_uuid())

    with pytest.raises(errors.RateLimited) as raised:
        other_client.send_text("chat_id", sandbox_chat.chat_id, "page", new_uuid())

    assert raised.value.code == 230020


@pytest.mark.usefixtures("stopped_clock")
def test_a_sixth_update_of_one_card_within_a_second_gets_230020(sandbox_client, sandbox_chat):
    message_id = send_card(sandbox_client, sandbox_chat)
    for _ in range(5):
        sandbox_client.patch_message(message_id, SHARED_CARD)

    with pytest.raises(errors.RateLimited) as raised:
        sandbox_client.patch_message(message_id, SHARED_CARD)

    assert raised.value.code == 230020


@pytest.mark.usefixtures("stopped_clock")
def test_over_50_calls_a_second_to_one_api_get_429_with_the_reset_header(
    sandbox_base_url, sandbox_app, token
):
    use_up_the_second(sandbox_app, "im.v1.chat.list")

    status, payload, headers = call(sandbox_base_url, "GET", "im/v1/chats", token=token)

    assert status == 429
    assert payload == {"code": 99991400, "msg": "request trigger frequency limit"}
    assert int(headers["x-ogw-ratelimit-reset"]) >= 1


@pytest.mark.usefixtures("stopped_clock")
def test_the_client_raises_rate_limited_with_the_sandboxs_retry_after(sandbox_client, sandbox_app):
    sandbox_client.tenant_access_token()
    use_up_the_second(sandbox_app, "im.v1.chat.list")

    with pytest.raises(errors.RateLimited) as raised:
        sandbox_client.list_chats()

    assert raised.value.code == 99991400
    assert raised.value.http_status == 429
    assert raised.value.retry_after >= 1


@pytest.mark.usefixtures("stopped_clock")
def test_limits_are_per_api(sandbox_client, sandbox_app, sandbox_chat):
    sandbox_client.tenant_access_token()
    use_up_the_second(sandbox_app, "im.v1.chat.list")

    assert sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "x")


# --- Faults and the call log -------------------------------------------------------------------


def test_faults_answer_503_then_429_then_the_call_succeeds(sandbox_client, sandbox_chat):
    sandbox_client.tenant_access_token()
    Fault.objects.create(path_prefix="/open-apis/im/", status=503, remaining=1)
    Fault.objects.create(path_prefix="/open-apis/im/", status=429, retry_after=3, remaining=1)

    with pytest.raises(errors.TransientError) as unavailable:
        sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "f")
    with pytest.raises(errors.RateLimited) as limited:
        sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "f")
    message_id = sandbox_client.send_message("chat_id", sandbox_chat.chat_id, SHARED_CARD, "f")

    assert unavailable.value.http_status == 503
    assert (limited.value.code, limited.value.retry_after) == (99991400, 3)
    assert SandboxMessage.objects.get().message_id == message_id
    assert list(Fault.objects.values_list("remaining", flat=True)) == [0, 0]


def test_a_fault_applies_only_to_paths_under_its_prefix(sandbox_client, sandbox_chat):
    Fault.objects.create(path_prefix="/open-apis/contact/", status=500, remaining=1)

    assert sandbox_client.list_chats()

    assert Fault.objects.get().remaining == 1


def test_every_answer_is_recorded_as_an_api_call(sandbox_base_url, sandbox_app, sandbox_chat):
    token = fetch_token(sandbox_base_url, sandbox_app)["tenant_access_token"]
    call(sandbox_base_url, "GET", "im/v1/chats", token=token)
    call(sandbox_base_url, "GET", "im/v1/chats")

    calls = list(
        ApiCall.objects.order_by("at", "id").values_list("app_id", "path", "http_status", "code")
    )

    assert calls == [
        (sandbox_app.app_id, "/open-apis/auth/v3/tenant_access_token/internal", 200, 0),
        (sandbox_app.app_id, "/open-apis/im/v1/chats", 200, 0),
        ("", "/open-apis/im/v1/chats", 400, 99991661),
    ]
