"""Callbacks whose JSON the console cannot use as sent: too deep or too long to read (a 400 with
the reason, before anything else, authentication included), or holding text the database cannot
store (replaced with U+FFFD by the edge's one JSON reader, so the callback is handled)."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.client import crypto
from integrations.feishu.models import CallbackReceipt, FeishuChat
from tests.feishu.test_callbacks import bot_added, deliver, event

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[" * 3000 + b"]" * 3000, "deeper"),
        (b'{"schema": "2.0", "header": ' + b"[" * 200 + b"]" * 200 + b"}", "deeper"),
        (b'{"n": ' + b"9" * 5000 + b"}", "digits"),
        (b'{"n": NaN}', "NaN"),
    ],
    ids=["deep", "deep-inside", "digits", "nan"],
)
@pytest.mark.parametrize("url", ["events", "cards"])
def test_unreadable_json_is_a_400_with_the_reason_before_authentication(
    client, app, raw, reason, url
):
    response = deliver(client, app, None, raw=raw, sign=None, url=url)
    assert response.status_code == 400
    assert reason in response.json()["error"]
    assert not CallbackReceipt.objects.exists()


def test_unreadable_json_inside_the_encryption_is_refused_like_any_forgery(client, app):
    # Unsigned: the decrypted body's faults must not be told apart (no padding oracle).
    inner = "[" * 3000 + "]" * 3000
    raw = json.dumps({"encrypt": crypto.encrypt(app.encrypt_key, inner)}).encode()
    assert deliver(client, app, None, raw=raw, sign=None).status_code == 401


@pytest.mark.parametrize("character", ["\x00", "\ud800"])
def test_an_event_with_unstorable_text_is_handled_with_the_text_replaced(client, app, character):
    payload = bot_added(app, chat_id=f"oc_{character}x", name=f"SRE{character}")
    payload["header"]["event_id"] = f"ev{character}1"
    response = deliver(client, app, payload)
    assert response.status_code == 200
    chat = FeishuChat.objects.get()
    assert (chat.chat_id, chat.name) == ("oc_\ufffdx", "SRE\ufffd")
    assert CallbackReceipt.objects.get().key == "ev\ufffd1"


def test_a_verification_token_with_unstorable_text_is_refused(client, plain_app):
    payload = event(plain_app, "im.chat.disbanded_v1", {"chat_id": "oc_x"}, token="tok\ud800")
    assert deliver(client, plain_app, payload).status_code == 401


def test_a_message_whose_content_is_unreadable_json_is_answered_not_failed(
    client, app, django_capture_on_commit_callbacks
):
    message = {
        "sender": {"sender_id": {"open_id": "ou_someone"}, "sender_type": "user"},
        "message": {
            "message_id": "om_1",
            "chat_id": "oc_dm",
            "chat_type": "p2p",
            "message_type": "text",
            "content": "[" * 3000 + "]" * 3000,
        },
    }
    with django_capture_on_commit_callbacks(execute=False):
        response = deliver(client, app, event(app, "im.message.receive_v1", message))
    assert response.status_code == 200


@pytest.mark.parametrize("declared", ["abc", "²", "9" * 5000])
def test_a_content_length_that_is_not_a_number_is_not_a_500(client, plain_app, declared):
    payload = bot_added(plain_app, token=plain_app.verification_token)
    response = client.post(
        plain_app.event_callback_url,
        json.dumps(payload),
        content_type="application/json",
        CONTENT_LENGTH=declared,
    )
    assert response.status_code < 500
