"""What the sandbox pushes to the console: payload shapes, encryption and signatures, checked
independently of the code that builds them (hashlib here, ``crypto.decrypt`` for bodies)."""

from __future__ import annotations

import hashlib
import json

import pytest

from integrations.feishu.client import crypto
from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.api import p2p_chat_id, tenant_key
from integrations.feishu_sandbox.models import CardUpdateToken, SandboxMessage

CARD = {
    "config": {"update_multi": True},
    "elements": [{"tag": "div", "text": {"tag": "plain_text", "content": "x"}}],
}


@pytest.fixture
def alice(sandbox_people):
    return sandbox_people["alice"]


@pytest.fixture
def card_message(sandbox_app, alice):
    return SandboxMessage.objects.create(
        app=sandbox_app, user=alice, msg_type="interactive", content=json.dumps(CARD)
    )


@pytest.fixture
def group_card(sandbox_app, sandbox_chat):
    return SandboxMessage.objects.create(
        app=sandbox_app, chat=sandbox_chat, msg_type="interactive", content=json.dumps(CARD)
    )


def opened(push: send.Push, encrypt_key: str) -> dict:
    """The body as the console reads it: decrypted when encrypted."""
    outer = json.loads(push.body)
    if encrypt_key:
        assert set(outer) == {"encrypt"}
        return json.loads(crypto.decrypt(encrypt_key, outer["encrypt"]))
    return outer


def sha256_signature(push: send.Push, key: str) -> str:
    headers = push.headers
    material = (
        headers["X-Lark-Request-Timestamp"] + headers["X-Lark-Request-Nonce"] + key
    ).encode()
    return hashlib.sha256(material + push.body).hexdigest()


def sha1_signature(push: send.Push, token: str) -> str:
    headers = push.headers
    material = (
        headers["X-Lark-Request-Timestamp"] + headers["X-Lark-Request-Nonce"] + token
    ).encode()
    return hashlib.sha1(material + push.body).hexdigest()  # noqa: S324 -- Feishu's choice


# --- Card callbacks -----------------------------------------------------------------------------


def test_it_builds_the_new_format_card_callback_like_feishu(
    sandbox_app, alice, group_card, sandbox_chat
):
    click = send.Click(tag="select_static", value={"action": "snooze"}, option="2h")

    payload = send.card_action_trigger(sandbox_app, alice, group_card, click, "c-123")

    header, event = payload["header"], payload["event"]
    assert payload["schema"] == "2.0"
    assert header["event_type"] == "card.action.trigger"
    assert header["token"] == sandbox_app.verification_token
    assert header["app_id"] == sandbox_app.app_id
    assert header["tenant_key"] == tenant_key()
    assert len(header["event_id"]) == 32
    # Feishu's card callback document shows a microsecond timestamp.
    assert len(header["create_time"]) == 16
    assert header["create_time"].isdigit()
    assert event["operator"] == {
        "tenant_key": tenant_key(),
        "open_id": sandbox_app.open_id_of(alice),
        "union_id": alice.union_id,
        "user_id": alice.user_id,
    }
    assert event["token"] == "c-123"
    assert event["action"] == {
        "value": {"action": "snooze"},
        "tag": "select_static",
        "option": "2h",
    }
    assert event["host"] == "im_message"
    assert event["context"] == {
        "open_message_id": group_card.message_id,
        "open_chat_id": sandbox_chat.chat_id,
    }


def test_it_builds_the_old_format_card_callback_flat_with_the_update_token(
    sandbox_app, alice, card_message
):
    click = send.Click(tag="button", value={"action": "claim"})

    payload = send.card_action_trigger_v1(sandbox_app, alice, card_message, click, "c-456")

    assert payload == {
        "open_id": sandbox_app.open_id_of(alice),
        "user_id": alice.user_id,
        "open_message_id": card_message.message_id,
        "open_chat_id": p2p_chat_id(sandbox_app, alice),
        "tenant_key": tenant_key(),
        "token": "c-456",
        "action": {"value": {"action": "claim"}, "tag": "button"},
    }


def test_it_sends_an_empty_value_for_a_button_without_one(sandbox_app, alice, card_message):
    payload = send.card_action_trigger_v1(
        sandbox_app, alice, card_message, send.Click("button", None), "c"
    )

    assert payload["action"] == {"value": {}, "tag": "button"}


def test_it_encrypts_and_signs_a_new_format_callback_with_the_encrypt_key(
    sandbox_app, alice, card_message
):
    payload = send.card_action_trigger(
        sandbox_app, alice, card_message, send.Click("button", {}), "c-1"
    )

    push = send.prepare(sandbox_app, "http://127.0.0.1/cb", payload, signing="event")

    assert opened(push, sandbox_app.encrypt_key) == payload
    assert push.headers["X-Lark-Signature"] == sha256_signature(push, sandbox_app.encrypt_key)
    assert push.headers["X-Lark-Request-Timestamp"].isdigit()
    assert len(push.headers["X-Lark-Request-Timestamp"]) == 10  # seconds
    assert push.headers["Content-Type"].startswith("application/json")


def test_it_sends_events_plain_and_unsigned_without_an_encrypt_key(
    sandbox_app, alice, card_message
):
    sandbox_app.encrypt_key = ""
    payload = send.card_action_trigger(
        sandbox_app, alice, card_message, send.Click("button", {}), "c-1"
    )

    push = send.prepare(sandbox_app, "http://127.0.0.1/cb", payload, signing="event")

    assert json.loads(push.body) == payload
    assert "X-Lark-Signature" not in push.headers


def test_it_signs_an_old_format_callback_with_sha1_of_the_verification_token(
    sandbox_app, alice, card_message
):
    sandbox_app.encrypt_key = ""
    payload = send.card_action_trigger_v1(
        sandbox_app, alice, card_message, send.Click("button", {}), "c-1"
    )

    push = send.prepare(sandbox_app, "http://127.0.0.1/cb", payload, signing="card_v1")

    assert json.loads(push.body) == payload
    assert push.headers["X-Lark-Signature"] == sha1_signature(push, sandbox_app.verification_token)


def test_it_encrypts_an_old_format_callback_and_signs_the_encrypted_bytes(
    sandbox_app, alice, card_message
):
    payload = send.card_action_trigger_v1(
        sandbox_app, alice, card_message, send.Click("button", {}), "c-1"
    )

    push = send.prepare(sandbox_app, "http://127.0.0.1/cb", payload, signing="card_v1")

    assert opened(push, sandbox_app.encrypt_key) == payload
    assert push.headers["X-Lark-Signature"] == sha1_signature(push, sandbox_app.verification_token)


def test_it_sends_a_url_verification_challenge_encrypted_and_unsigned(sandbox_app):
    payload = send.url_verification(sandbox_app)

    push = send.prepare(sandbox_app, "http://127.0.0.1/cb", payload, signing="none")

    body = opened(push, sandbox_app.encrypt_key)
    assert body["type"] == "url_verification"
    assert body["token"] == sandbox_app.verification_token
    assert len(body["challenge"]) >= 16
    assert "X-Lark-Signature" not in push.headers


# --- Events -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("added", "event_type"),
    [(True, "im.chat.member.bot.added_v1"), (False, "im.chat.member.bot.deleted_v1")],
)
def test_it_builds_the_bot_membership_events(sandbox_app, sandbox_chat, alice, added, event_type):
    payload = send.bot_membership_event(sandbox_app, sandbox_chat, alice, added=added)

    assert payload["header"]["event_type"] == event_type
    assert len(payload["header"]["create_time"]) == 13  # milliseconds
    assert payload["event"] == {
        "chat_id": sandbox_chat.chat_id,
        "operator_id": {
            "open_id": sandbox_app.open_id_of(alice),
            "union_id": alice.union_id,
            "user_id": alice.user_id,
        },
        "external": False,
        "operator_tenant_key": tenant_key(),
        "name": "SRE on-call",
        "i18n_names": {"zh_cn": "SRE on-call", "en_us": "SRE on-call", "ja_jp": "SRE on-call"},
    }


def test_it_builds_the_chat_disbanded_event_without_an_operator(sandbox_app, sandbox_chat):
    payload = send.chat_disbanded_event(sandbox_app, sandbox_chat, None)

    assert payload["header"]["event_type"] == "im.chat.disbanded_v1"
    assert payload["event"]["chat_id"] == sandbox_chat.chat_id
    assert payload["event"]["operator_id"] == {"open_id": "", "union_id": "", "user_id": ""}
    assert payload["event"]["name"] == "SRE on-call"


def test_it_builds_a_direct_message_event(sandbox_app, alice):
    message = SandboxMessage.objects.create(
        app=sandbox_app, user=alice, sender=alice, msg_type="text", content='{"text": "help"}'
    )

    payload = send.message_received_event(sandbox_app, message, "help")

    event = payload["event"]
    assert payload["header"]["event_type"] == "im.message.receive_v1"
    assert event["sender"] == {
        "sender_id": {
            "open_id": sandbox_app.open_id_of(alice),
            "union_id": alice.union_id,
            "user_id": alice.user_id,
        },
        "sender_type": "user",
        "tenant_key": tenant_key(),
    }
    assert event["message"] == {
        "message_id": message.message_id,
        "create_time": str(int(message.created_at.timestamp() * 1000)),
        "update_time": str(int(message.created_at.timestamp() * 1000)),
        "chat_id": p2p_chat_id(sandbox_app, alice),
        "chat_type": "p2p",
        "message_type": "text",
        "content": '{"text": "help"}',
    }


def test_it_lists_the_bot_mention_of_a_group_message(sandbox_app, sandbox_chat, alice):
    message = SandboxMessage.objects.create(
        app=sandbox_app, chat=sandbox_chat, sender=alice, msg_type="text", content="{}"
    )

    event = send.message_received_event(sandbox_app, message, "@_user_1 ack")["event"]["message"]

    assert event["chat_type"] == "group"
    assert event["chat_id"] == sandbox_chat.chat_id
    assert json.loads(event["content"]) == {"text": "@_user_1 ack"}
    assert event["mentions"] == [
        {
            "key": "@_user_1",
            "id": {"open_id": send.bot_open_id(sandbox_app), "union_id": "", "user_id": ""},
            "name": sandbox_app.bot_name,
            "tenant_key": tenant_key(),
        }
    ]


def test_it_gives_a_reply_its_parent_and_the_thread_root(
    sandbox_app, sandbox_chat, alice, group_card
):
    first_reply = SandboxMessage.objects.create(
        app=sandbox_app,
        chat=sandbox_chat,
        sender=alice,
        msg_type="text",
        content="{}",
        reply_to=group_card,
    )
    second_reply = SandboxMessage.objects.create(
        app=sandbox_app,
        chat=sandbox_chat,
        sender=alice,
        msg_type="text",
        content="{}",
        reply_to=first_reply,
    )

    first = send.message_received_event(sandbox_app, first_reply, "x")["event"]["message"]
    second = send.message_received_event(sandbox_app, second_reply, "x")["event"]["message"]

    assert (first["parent_id"], first["root_id"]) == (group_card.message_id, group_card.message_id)
    assert (second["parent_id"], second["root_id"]) == (
        first_reply.message_id,
        group_card.message_id,
    )


def test_each_event_gets_a_new_event_id(sandbox_app, sandbox_chat):
    first = send.chat_disbanded_event(sandbox_app, sandbox_chat, None)
    second = send.chat_disbanded_event(sandbox_app, sandbox_chat, None)

    assert first["header"]["event_id"] != second["header"]["event_id"]


# --- Answers to card callbacks -------------------------------------------------------------------


def delivery(status: int | None, answer: object = None, *, raw: str | None = None) -> send.Delivery:
    text = raw if raw is not None else json.dumps(answer)
    return send.Delivery(
        "http://127.0.0.1/cb",
        status,
        answer=text if status else "",
        error="" if status else "timeout",
    )


def test_it_reads_a_new_format_answer_with_a_toast_and_a_raw_card():
    answer = send.read_card_answer(
        "new",
        delivery(
            200,
            {
                "toast": {"type": "success", "content": "Claimed"},
                "card": {"type": "raw", "data": CARD},
            },
        ),
    )

    assert (answer.toast, answer.toast_type, answer.card, answer.failed) == (
        "Claimed",
        "success",
        CARD,
        False,
    )


def test_it_reads_a_toast_given_only_in_i18n():
    answer = send.read_card_answer(
        "new", delivery(200, {"toast": {"type": "warning", "i18n": {"en_us": "Hm"}}})
    )

    assert (answer.toast, answer.toast_type, answer.card) == ("Hm", "warning", None)


def test_it_keeps_the_card_when_the_new_format_answer_has_none():
    answer = send.read_card_answer("new", delivery(200, {}))

    assert (answer.toast, answer.card, answer.failed) == ("", None, False)


def test_it_fails_a_new_format_answer_whose_card_is_not_raw_or_template():
    answer = send.read_card_answer("new", delivery(200, {"card": {"type": "html", "data": "<p>"}}))

    assert answer.failed
    assert answer.toast == send.FAILURE_TOAST


@pytest.mark.parametrize(
    "failed",
    [
        delivery(500, {}),
        delivery(None),
        delivery(200, raw="not json"),
        delivery(200, raw="[]"),
        delivery(200, raw=""),
    ],
    ids=["HTTP 500", "no answer", "not JSON", "not an object", "empty"],
)
def test_it_shows_the_failure_toast_when_the_console_does_not_answer_properly(failed):
    answer = send.read_card_answer("new", failed)

    assert (answer.failed, answer.toast_type, answer.card) == (True, "error", None)


def test_it_takes_an_old_format_answer_that_looks_like_a_card_as_the_new_card():
    answer = send.read_card_answer("old", delivery(200, CARD))

    assert answer.card == CARD


def test_it_keeps_the_card_when_the_old_format_answer_is_empty():
    answer = send.read_card_answer("old", delivery(200, {}))

    assert (answer.card, answer.failed) == (None, False)


# --- Posting ----------------------------------------------------------------------------------


def test_it_reports_a_refused_connection_as_a_delivery_without_status(sandbox_app):
    push = send.prepare(
        sandbox_app, "http://127.0.0.1:9/nothing-listens", {"a": 1}, signing="event"
    )

    result = send.post(push)

    assert result.status is None
    assert result.error
    assert not result.ok
    assert "No answer from http://127.0.0.1:9/nothing-listens" in result.summary()


def test_it_sends_no_event_when_the_app_has_no_event_url(sandbox_app, sandbox_chat):
    assert (
        send.send_event(sandbox_app, send.chat_disbanded_event(sandbox_app, sandbox_chat, None))
        is None
    )


def test_a_click_without_any_request_url_fails_without_creating_a_token(
    sandbox_app, alice, card_message
):
    answer = send.send_card_action(sandbox_app, alice, card_message, send.Click("button", {}))

    assert answer.failed
    assert answer.delivery is None
    assert not CardUpdateToken.objects.exists()
