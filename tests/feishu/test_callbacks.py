"""The callback endpoint: every branch of authentication, decryption, deduplication and dispatch,
with requests built the way Feishu builds them (see /work/shared/FEISHU.md)."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
import uuid
from typing import Any

import pytest
from django.db import transaction

from integrations.feishu.client import crypto
from integrations.feishu.inbound import endpoint
from integrations.feishu.inbound.card_actions import CardAction, CardResponse
from integrations.feishu.models import CallbackReceipt, FeishuChat
from tests.factories import FeishuAppFactory, FeishuChatFactory

pytestmark = pytest.mark.django_db

CALLS: list[CardAction] = []


def probe_handler(action: CardAction) -> CardResponse:
    """A listed card handler that records what it was given."""
    CALLS.append(action)
    return CardResponse(toast="Claimed by you", toast_type="success", card={"elements": []})


def failing_handler(action: CardAction) -> CardResponse:
    raise RuntimeError("boom")


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def deliver(
    client,
    app,
    payload: Any,
    *,
    url: str = "events",
    encrypt: bool | None = None,
    sign: str | None = "auto",
    timestamp: int | None = None,
    raw: bytes | None = None,
):
    """POST like Feishu: encrypted and SHA-256 signed when the app has an Encrypt Key."""
    if raw is None:
        text = json.dumps(payload)
        encrypt = bool(app.encrypt_key) if encrypt is None else encrypt
        if encrypt:
            text = json.dumps({"encrypt": crypto.encrypt(app.encrypt_key, text)})
        raw = text.encode()
    ts, nonce = str(timestamp or int(time.time())), secrets.token_hex(8)
    if sign == "auto":
        sign = "sha256" if app.encrypt_key else None
    headers = {}
    if sign:
        headers = {
            "HTTP_X_LARK_REQUEST_TIMESTAMP": ts,
            "HTTP_X_LARK_REQUEST_NONCE": nonce,
            "HTTP_X_LARK_SIGNATURE": _signature(sign, app, ts, nonce, raw),
        }
    path = app.event_callback_url if url == "events" else app.card_callback_url
    return client.post(path, raw, content_type="application/json", **headers)


def _signature(kind: str, app, ts: str, nonce: str, raw: bytes) -> str:
    # Computed here with hashlib, independently of the code under test.
    if kind == "sha256":
        return hashlib.sha256((ts + nonce + app.encrypt_key).encode() + raw).hexdigest()
    if kind == "sha1":
        material = (ts + nonce + app.verification_token).encode() + raw
        return hashlib.sha1(material).hexdigest()  # noqa: S324 -- Feishu's protocol
    return "0" * 64


def event(app, event_type: str, body: dict, *, event_id: str | None = None, token=None) -> dict:
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": event_type,
            "create_time": str(int(time.time() * 1000)),
            "token": app.verification_token if token is None else token,
            "app_id": app.app_id,
            "tenant_key": "tenant-1",
        },
        "event": body,
    }


def bot_added(app, chat_id="oc_new", name="SRE on-call", **kwargs) -> dict:
    body = {"chat_id": chat_id, "name": name, "operator_id": {"open_id": "ou_op"}}
    return event(app, "im.chat.member.bot.added_v1", body, **kwargs)


def card_v2(app, value: dict, *, option: str | None = None) -> dict:
    action: dict = {"value": value, "tag": "button"}
    if option is not None:
        action = {"value": value, "tag": "select_static", "option": option}
    body = {
        "operator": {"open_id": "ou_clicker", "union_id": "on_clicker", "user_id": "u1"},
        "token": "c-" + secrets.token_hex(10),
        "action": action,
        "host": "im_message",
        "context": {"open_message_id": "om_card", "open_chat_id": "oc_room"},
    }
    return event(app, "card.action.trigger", body)


def card_v1(value: dict, *, token: str | None = None) -> dict:
    return {
        "open_id": "ou_clicker",
        "user_id": "u1",
        "open_message_id": "om_card",
        "open_chat_id": "oc_room",
        "tenant_key": "tenant-1",
        "token": token or "c-" + secrets.token_hex(10),
        "action": {"value": value, "tag": "button"},
    }


# --- URL verification ------------------------------------------------------------------------


def test_it_echoes_a_plain_challenge_with_the_right_token(client, plain_app):
    body = {
        "challenge": "ch-123",
        "token": plain_app.verification_token,
        "type": "url_verification",
    }
    response = deliver(client, plain_app, body)
    assert response.status_code == 200
    assert response.json() == {"challenge": "ch-123"}


def test_it_echoes_an_encrypted_challenge(client, app):
    body = {"challenge": "ch-456", "token": app.verification_token, "type": "url_verification"}
    response = deliver(client, app, body, sign=None)
    assert response.json() == {"challenge": "ch-456"}


def test_it_refuses_a_challenge_with_a_wrong_token(client, plain_app):
    body = {"challenge": "ch", "token": "not-the-token", "type": "url_verification"}
    response = deliver(client, plain_app, body)
    assert response.status_code == 401
    assert "Verification Token" in response.json()["error"]


def test_both_urls_answer_the_challenge(client, plain_app):
    body = {"challenge": "c", "token": plain_app.verification_token, "type": "url_verification"}
    assert deliver(client, plain_app, body, url="cards").json() == {"challenge": "c"}


# --- Authentication ----------------------------------------------------------------------------


def test_it_refuses_an_event_with_a_wrong_verification_token(client, app):
    response = deliver(client, app, bot_added(app, token="forged"))
    assert response.status_code == 401
    assert not FeishuChat.objects.exists()
    assert not CallbackReceipt.objects.exists()


def test_it_refuses_a_bad_signature_before_decrypting(client, app):
    response = deliver(client, app, bot_added(app), sign="bad")
    assert response.status_code == 401
    assert "X-Lark-Signature" in response.json()["error"]
    assert not FeishuChat.objects.exists()


def test_it_refuses_an_unsigned_event_when_the_app_has_an_encrypt_key(client, app):
    response = deliver(client, app, bot_added(app), sign=None)
    assert response.status_code == 401
    assert not FeishuChat.objects.exists()


def test_it_refuses_a_signature_made_with_the_verification_token_for_an_event(client, app):
    response = deliver(client, app, bot_added(app), sign="sha1")
    assert response.status_code == 401
    assert not FeishuChat.objects.exists()


# Past the 8-hour window (Feishu's re-sends come within it: tests/feishu/test_resends.py);
# seconds are truncated: keep 2 s away.
@pytest.mark.parametrize("age", [8 * 3600 + 2, -(8 * 3600 + 2), 24 * 3600])
def test_it_refuses_a_stale_or_future_timestamp(client, app, age):
    response = deliver(client, app, bot_added(app), timestamp=int(time.time()) - age)
    assert response.status_code == 401
    assert "timestamp" in response.json()["error"]
    assert not FeishuChat.objects.exists()


def test_the_replay_window_is_a_setting(client, app, settings):
    settings.FEISHU_CALLBACK_MAX_SKEW_SECONDS = 1800
    response = deliver(client, app, bot_added(app), timestamp=int(time.time()) - 3600)
    assert response.status_code == 401


def test_an_app_without_encrypt_key_is_authenticated_by_its_token(client, plain_app):
    response = deliver(client, plain_app, bot_added(plain_app))
    assert response.status_code == 200
    assert FeishuChat.objects.get().status == FeishuChat.Status.ACTIVE


# --- Malformed requests ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_it_answers_400_to_a_body_that_is_not_a_json_object(client, plain_app, raw):
    response = deliver(client, plain_app, None, raw=raw)
    assert response.status_code == 400
    assert "error" in response.json()


def test_it_answers_400_to_an_encrypted_body_when_no_encrypt_key_is_set(client, plain_app):
    raw = json.dumps({"encrypt": crypto.encrypt("some key", "{}")}).encode()
    response = deliver(client, plain_app, None, raw=raw)
    assert response.status_code == 400
    assert "no Encrypt Key" in response.json()["error"]


def test_an_unsigned_body_that_does_not_decrypt_is_refused_like_any_forgery(client, app):
    # 401 whatever went wrong inside: distinct answers would be a padding oracle.
    raw = json.dumps({"encrypt": crypto.encrypt("the wrong key", "{}")}).encode()
    response = deliver(client, app, None, raw=raw, sign=None)
    assert response.status_code == 401


def test_a_signed_body_that_does_not_decrypt_is_a_400(client, app):
    raw = json.dumps({"encrypt": "bm90IGVuY3J5cHRlZA=="}).encode()
    response = deliver(client, app, None, raw=raw)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "payload",
    [
        {"schema": "2.0", "header": {"event_type": "x"}, "event": {}},  # no event_id
        {"schema": "2.0", "header": "nope", "event": {}},
        {"type": "event_callback", "event": {"type": "add_bot"}},  # schema 1.0 without uuid
        {"hello": "world"},
    ],
)
def test_it_answers_400_to_envelopes_that_are_not_feishus(client, plain_app, payload):
    if isinstance(payload.get("header"), dict):
        payload["header"]["token"] = plain_app.verification_token
    response = deliver(client, plain_app, payload)
    assert response.status_code == 400
    assert not CallbackReceipt.objects.exists()


def test_an_event_missing_its_chat_id_is_a_400_and_leaves_no_receipt(client, app):
    response = deliver(client, app, event(app, "im.chat.disbanded_v1", {"name": "x"}))
    assert response.status_code == 400
    assert not CallbackReceipt.objects.exists()


def test_it_refuses_a_body_over_the_limit(client, plain_app, settings):
    settings.FEISHU_CALLBACK_MAX_BODY_BYTES = 1024
    response = deliver(client, plain_app, {"pad": "x" * 2000})
    assert response.status_code == 413


def test_get_is_not_allowed(client, app):
    assert client.get(app.event_callback_url).status_code == 405


def test_a_disabled_or_unknown_app_is_404(client, app):
    app.enabled = False
    app.save()
    assert deliver(client, app, bot_added(app)).status_code == 404
    app.delete()
    assert deliver(client, app, bot_added(app)).status_code == 404


# --- Events --------------------------------------------------------------------------------


def test_bot_added_records_the_chat(client, app):
    response = deliver(client, app, bot_added(app, chat_id="oc_sre", name="SRE on-call"))
    assert response.status_code == 200
    assert response.json() == {}
    chat = FeishuChat.objects.get(app=app, chat_id="oc_sre")
    assert (chat.name, chat.status) == ("SRE on-call", FeishuChat.Status.ACTIVE)


def test_bot_removed_and_disbanded_mark_the_chat_gone_but_keep_it(client, app):
    removed = FeishuChatFactory(app=app, chat_id="oc_a")
    disbanded = FeishuChatFactory(app=app, chat_id="oc_b")
    deliver(client, app, event(app, "im.chat.member.bot.deleted_v1", {"chat_id": "oc_a"}))
    deliver(client, app, event(app, "im.chat.disbanded_v1", {"chat_id": "oc_b", "name": "B"}))
    removed.refresh_from_db()
    disbanded.refresh_from_db()
    assert removed.status == FeishuChat.Status.BOT_REMOVED
    assert disbanded.status == FeishuChat.Status.DISBANDED
    assert not removed.usable
    assert removed.status_changed_at is not None


def test_the_bot_coming_back_reactivates_the_chat(client, app):
    chat = FeishuChatFactory(app=app, chat_id="oc_c", status=FeishuChat.Status.BOT_REMOVED)
    deliver(client, app, bot_added(app, chat_id="oc_c", name="Renamed"))
    chat.refresh_from_db()
    assert (chat.status, chat.name) == (FeishuChat.Status.ACTIVE, "Renamed")


def test_a_repeated_event_is_answered_200_and_not_processed_again(client, app):
    payload = event(app, "im.chat.disbanded_v1", {"chat_id": "oc_d"}, event_id="ev-1")
    assert deliver(client, app, payload).status_code == 200
    FeishuChat.objects.filter(chat_id="oc_d").update(status=FeishuChat.Status.ACTIVE)
    again = deliver(client, app, payload)
    assert again.status_code == 200
    assert FeishuChat.objects.get(chat_id="oc_d").status == FeishuChat.Status.ACTIVE
    assert CallbackReceipt.objects.filter(app=app, key="ev-1").count() == 1


def test_a_receipt_is_recorded_once_in_one_statement_inside_or_outside_a_transaction(
    app, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert CallbackReceipt.objects.record_first(app, "ev-9", "im.chat.disbanded_v1")
    with transaction.atomic():
        assert not CallbackReceipt.objects.record_first(app, "ev-9", "im.chat.disbanded_v1")
        FeishuChatFactory(app=app)  # the transaction is still usable after the repeat
    receipt = CallbackReceipt.objects.get(app=app, key="ev-9")
    assert receipt.kind == "im.chat.disbanded_v1"
    assert receipt.received_at is not None


def test_the_same_event_id_in_another_app_is_a_different_event(client, app):
    other = FeishuAppFactory()
    deliver(client, app, bot_added(app, chat_id="oc_1", event_id="same"))
    deliver(client, other, bot_added(other, chat_id="oc_1", event_id="same"))
    assert FeishuChat.objects.filter(chat_id="oc_1").count() == 2


def test_schema_1_events_are_handled_and_deduplicated_on_uuid(client, plain_app):
    payload = {
        "uuid": "u-1",
        "token": plain_app.verification_token,
        "ts": "1700000000.0",
        "type": "event_callback",
        "event": {"type": "add_bot", "open_chat_id": "oc_old", "chat_name": "Legacy"},
    }
    assert deliver(client, plain_app, payload).status_code == 200
    assert deliver(client, plain_app, payload).status_code == 200
    assert FeishuChat.objects.get(chat_id="oc_old").name == "Legacy"
    assert CallbackReceipt.objects.filter(key="u-1").count() == 1


def test_an_unknown_event_type_is_answered_200_and_logged(client, app, caplog):
    with caplog.at_level(logging.INFO, logger="integrations.feishu.inbound.endpoint"):
        response = deliver(client, app, event(app, "contact.user.created_v3", {"x": 1}))
    assert response.status_code == 200
    assert "contact.user.created_v3 is not handled" in caplog.text


def _message(chat_type: str, text: str, mentions: list | None = None, mtype="text") -> dict:
    return {
        "sender": {"sender_id": {"open_id": "ou_alice"}, "sender_type": "user"},
        "message": {
            "message_id": "om_msg1",
            "chat_id": "oc_dm",
            "chat_type": chat_type,
            "message_type": mtype,
            "content": json.dumps({"text": text}),
            "mentions": mentions or [],
        },
    }


def test_a_direct_message_is_answered_in_a_task(client, app, django_capture_on_commit_callbacks):
    payload = event(app, "im.message.receive_v1", _message("p2p", "hello"))
    with django_capture_on_commit_callbacks() as callbacks:
        assert deliver(client, app, payload).status_code == 200
    assert len(callbacks) == 1


def test_a_group_message_without_a_mention_is_not_for_the_bot(
    client, app, django_capture_on_commit_callbacks
):
    payload = event(app, "im.message.receive_v1", _message("group", "lunch?"))
    with django_capture_on_commit_callbacks() as callbacks:
        assert deliver(client, app, payload).status_code == 200
    assert callbacks == []


# --- Card callbacks ----------------------------------------------------------------------------


def test_a_new_format_click_is_normalised_and_dispatched(client, app, monkeypatch):
    monkeypatch.setitem(endpoint.CARD_ACTIONS, "probe", probe_handler)
    payload = card_v2(app, {"action": "probe", "incident": "abc"}, option="2h")
    response = deliver(client, app, payload, url="cards")
    assert response.status_code == 200
    assert response.json() == {
        "toast": {"type": "success", "content": "Claimed by you"},
        "card": {"type": "raw", "data": {"elements": []}},
    }
    (action,) = CALLS
    assert (action.app, action.format, action.name) == (app, "new", "probe")
    assert (action.open_id, action.union_id, action.user_id) == ("ou_clicker", "on_clicker", "u1")
    assert (action.message_id, action.chat_id, action.option) == ("om_card", "oc_room", "2h")
    assert action.value == {"action": "probe", "incident": "abc"}
    assert action.update_token == payload["event"]["token"]
    assert action.update_token not in repr(action)


def test_an_old_format_click_is_signed_with_sha1_and_answered_with_the_card(
    client, app, monkeypatch
):
    monkeypatch.setitem(endpoint.CARD_ACTIONS, "probe", probe_handler)
    response = deliver(
        client, app, card_v1({"action": "probe"}), url="cards", sign="sha1", encrypt=False
    )
    assert response.status_code == 200
    assert response.json() == {"elements": []}  # the old format answers the card itself
    (action,) = CALLS
    assert (action.format, action.open_id, action.message_id) == ("old", "ou_clicker", "om_card")


def test_an_old_format_click_without_a_valid_signature_is_refused(client, app, monkeypatch):
    monkeypatch.setitem(endpoint.CARD_ACTIONS, "probe", probe_handler)
    for sign in (None, "bad", "sha256"):
        response = deliver(
            client, app, card_v1({"action": "probe"}), url="cards", sign=sign, encrypt=False
        )
        assert response.status_code == 401
    assert CALLS == []


def test_a_click_delivered_twice_is_acted_on_once(client, app, monkeypatch):
    monkeypatch.setitem(endpoint.CARD_ACTIONS, "probe", probe_handler)
    payload = card_v1({"action": "probe"}, token="c-same-click")
    first = deliver(client, app, payload, url="cards", sign="sha1", encrypt=False)
    second = deliver(client, app, payload, url="cards", sign="sha1", encrypt=False)
    assert first.json() == {"elements": []}
    assert second.status_code == 200
    assert second.json() == {}
    assert len(CALLS) == 1


def test_a_click_nobody_handles_gets_a_toast_not_an_error(client, app):
    response = deliver(client, app, card_v2(app, {"action": "launch-rockets"}), url="cards")
    assert response.status_code == 200
    assert response.json()["toast"]["type"] == "warning"


def test_a_failing_handler_is_answered_with_an_error_toast(client, app, monkeypatch, caplog):
    monkeypatch.setitem(endpoint.CARD_ACTIONS, "boom", failing_handler)
    with caplog.at_level(logging.ERROR):
        response = deliver(client, app, card_v2(app, {"action": "boom"}), url="cards")
    assert response.status_code == 200
    assert response.json()["toast"]["type"] == "error"
    assert "card action 'boom' failed" in caplog.text


def test_a_click_with_a_value_that_is_not_an_object_is_a_400(client, app):
    payload = card_v2(app, {})
    payload["event"]["action"]["value"] = "claim"
    response = deliver(client, app, payload, url="cards")
    assert response.status_code == 400


def test_no_secret_reaches_the_logs(client, app, caplog):
    with caplog.at_level(logging.DEBUG):
        deliver(client, app, bot_added(app, token="forged"))
        deliver(client, app, bot_added(app), sign="bad")
        deliver(client, app, card_v2(app, {"action": "nothing"}), url="cards")
    for secret in (app.app_secret, app.verification_token, app.encrypt_key):
        assert secret not in caplog.text
