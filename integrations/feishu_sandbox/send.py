"""What the sandbox pushes to the console, built, signed and encrypted exactly as Feishu does.

* Events: schema 2.0 envelopes (``header.create_time`` in milliseconds) to the app's event
  request URL. With an Encrypt Key the body is ``{"encrypt": ...}`` and ``X-Lark-Signature`` is
  ``sha256(timestamp + nonce + encrypt_key + body)`` over the bytes as sent; without one the
  body is plain and unsigned (FEISHU.md: the Verification Token is then the authentication).
* New-format card callbacks (``card.action.trigger``): the same envelope, signing and
  encryption; ``header.create_time`` is in microseconds, as Feishu's card callback document
  shows ("1603977298000000").
* Old-format card callbacks (``card.action.trigger_v1``): the flat body, always signed with
  ``sha1(timestamp + nonce + verification_token + body)``. It is encrypted too when the app
  has an Encrypt Key: larksuite/oapi-sdk-go v3's ``CardActionHandler`` decrypts an
  ``{"encrypt"}`` card body with the app's Encrypt Key before anything else, and checks the
  SHA-1 signature over the raw (encrypted) body, so that is what the sandbox sends.
* URL verification: ``{"challenge", "token", "type": "url_verification"}``, encrypted with the
  key; not signed (FEISHU.md: challenges carry no signature to check).

Requests go only to the URLs configured in the sandbox's own apps. The sandbox is a development
tool served only when FEISHU_SANDBOX_ENABLED, and pointing an app at this very machine is its
normal use, so there is deliberately no SSRF guard here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import requests

from integrations.feishu.client import crypto
from integrations.feishu_sandbox import long_connection
from integrations.feishu_sandbox.api import tenant_key
from integrations.feishu_sandbox.api_messages import chat_id_of, root_of
from integrations.feishu_sandbox.models import (
    CallbackFormat,
    CardUpdateToken,
    SandboxApp,
    SandboxChat,
    SandboxMessage,
    SandboxUser,
    SubscriptionMode,
)
from integrations.feishu_sandbox.push_answers import ANSWER_CHARS, ANSWER_TIMEOUT_SECONDS, NO_ANSWER
from integrations.feishu_sandbox.render import looks_like_card
from integrations.feishu_sandbox.render_markup import json_object_or_none

# What the Feishu client shows when the card request URL fails (its wording is localised;
# this is the sense of it, not a copy).
FAILURE_TOAST = "Something went wrong. Please try again later."

Signing = Literal["event", "card_v1", "none"]


# --- Identities ---------------------------------------------------------------------------------


def user_ids(app: SandboxApp, user: SandboxUser | None) -> dict[str, str]:
    """``{open_id, union_id, user_id}`` of a person as this app sees them (empty when none)."""
    if user is None:
        return {"open_id": "", "union_id": "", "user_id": ""}
    return {"open_id": app.open_id_of(user), "union_id": user.union_id, "user_id": user.user_id}


def bot_open_id(app: SandboxApp) -> str:
    """The open_id of the app's bot, as it appears in a mention of the bot."""
    return "ou_" + hashlib.sha256(f"bot:{app.app_id}".encode()).hexdigest()[:32]


# --- Payloads -----------------------------------------------------------------------------------


def _now_ms() -> int:
    return int(time.time() * 1000)


def event_envelope(
    app: SandboxApp, event_type: str, event: dict, *, create_time: str | None = None
) -> dict:
    """A schema 2.0 envelope: ``header.event_id`` is a fresh uuid4 hex per delivery."""
    return {
        "schema": "2.0",
        "header": {
            "event_id": uuid.uuid4().hex,
            "token": app.verification_token,
            "create_time": create_time or str(_now_ms()),
            "event_type": event_type,
            "tenant_key": tenant_key(),
            "app_id": app.app_id,
        },
        "event": event,
    }


def _i18n_names(name: str) -> dict[str, str]:
    # The sandbox's chats have one name; Feishu lists it under each language it knows.
    return {"zh_cn": name, "en_us": name, "ja_jp": name}


def _chat_event_body(app: SandboxApp, chat: SandboxChat, operator: SandboxUser | None) -> dict:
    """What the bot added / deleted and chat disbanded events say about the chat."""
    return {
        "chat_id": chat.chat_id,
        "operator_id": user_ids(app, operator),
        "external": False,
        "operator_tenant_key": tenant_key(),
        "name": chat.name,
        "i18n_names": _i18n_names(chat.name),
    }


def bot_membership_event(
    app: SandboxApp, chat: SandboxChat, operator: SandboxUser | None, *, added: bool
) -> dict:
    """``im.chat.member.bot.added_v1`` / ``im.chat.member.bot.deleted_v1``."""
    event_type = "im.chat.member.bot.added_v1" if added else "im.chat.member.bot.deleted_v1"
    return event_envelope(app, event_type, _chat_event_body(app, chat, operator))


def chat_disbanded_event(app: SandboxApp, chat: SandboxChat, operator: SandboxUser | None) -> dict:
    """``im.chat.disbanded_v1``."""
    return event_envelope(app, "im.chat.disbanded_v1", _chat_event_body(app, chat, operator))


MENTION_KEY = "@_user_1"


def message_received_event(
    app: SandboxApp,
    message: SandboxMessage,
    text: str,
    people: Mapping[str, SandboxUser] | None = None,
) -> dict:
    """``im.message.receive_v1`` for a text ``message`` a person wrote. ``text`` is what the
    console reads: Feishu replaces each mention with a key (``@_user_1``) and lists the key in
    ``mentions``: the app's bot, when ``text`` contains ``MENTION_KEY``, and each person of
    ``people`` (key -> person, e.g. ``{"@_user_2": bob}``) whose key ``text`` contains, with
    the open_id this app knows them by."""
    created = str(int(message.created_at.timestamp() * 1000))
    body: dict = {"message_id": message.message_id}
    if message.reply_to is not None:
        body["root_id"] = root_of(message).message_id
        body["parent_id"] = message.reply_to.message_id
    body |= {
        "create_time": created,
        "update_time": created,
        "chat_id": chat_id_of(message),
        "chat_type": "group" if message.chat_id is not None else "p2p",
        "message_type": "text",
        "content": json.dumps({"text": text}, ensure_ascii=False),
    }
    mentions = []
    if MENTION_KEY in text:
        mentions.append(
            {
                "key": MENTION_KEY,
                "id": {"open_id": bot_open_id(app), "union_id": "", "user_id": ""},
                "name": app.bot_name,
                "tenant_key": tenant_key(),
            }
        )
    for key, person in (people or {}).items():
        if key in text:
            mentions.append(
                {
                    "key": key,
                    "id": user_ids(app, person),
                    "name": person.name,
                    "tenant_key": tenant_key(),
                }
            )
    if mentions:
        body["mentions"] = mentions
    sender = {
        "sender_id": user_ids(app, message.sender),
        "sender_type": "user",
        "tenant_key": tenant_key(),
    }
    return event_envelope(app, "im.message.receive_v1", {"sender": sender, "message": body})


@dataclass(frozen=True)
class Click:
    """One interaction with a card element: what Feishu puts under ``action``."""

    tag: str
    value: object
    option: str | None = None

    def action(self) -> dict:
        action: dict = {"value": self.value if self.value is not None else {}, "tag": self.tag}
        if self.option is not None:
            action["option"] = self.option
        return action


def card_action_trigger(
    app: SandboxApp, user: SandboxUser, message: SandboxMessage, click: Click, update_token: str
) -> dict:
    """The new-format card callback (``card.action.trigger``)."""
    operator = {"tenant_key": tenant_key(), **user_ids(app, user)}
    return event_envelope(
        app,
        "card.action.trigger",
        {
            "operator": operator,
            "token": update_token,
            "action": click.action(),
            "host": "im_message",
            "context": {
                "open_message_id": message.message_id,
                "open_chat_id": chat_id_of(message),
            },
        },
        create_time=str(int(time.time() * 1_000_000)),
    )


def card_action_trigger_v1(
    app: SandboxApp, user: SandboxUser, message: SandboxMessage, click: Click, update_token: str
) -> dict:
    """The old-format card callback (``card.action.trigger_v1``): flat, its ``token`` is the
    card-update token (not the Verification Token)."""
    ids = user_ids(app, user)
    return {
        "open_id": ids["open_id"],
        "user_id": ids["user_id"],
        "open_message_id": message.message_id,
        "open_chat_id": chat_id_of(message),
        "tenant_key": tenant_key(),
        "token": update_token,
        "action": click.action(),
    }


def url_verification(app: SandboxApp) -> dict:
    return {
        "challenge": secrets.token_urlsafe(16),
        "token": app.verification_token,
        "type": "url_verification",
    }


# --- Signing, encrypting, posting ---------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    """A request ready to go: the exact bytes and headers, and the plaintext it carries."""

    url: str
    body: bytes
    headers: dict[str, str]
    payload: dict = field(repr=False)


def _json_bytes(value: Mapping) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def prepare(app: SandboxApp, url: str, payload: dict, *, signing: Signing) -> Push:
    """Encrypt ``payload`` when the app has an Encrypt Key, then sign the bytes as sent."""
    if app.encrypt_key:
        body = _json_bytes({"encrypt": crypto.encrypt(app.encrypt_key, json.dumps(payload))})
    else:
        body = _json_bytes(payload)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Feishu-Sandbox",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
    }
    signature = _signature(app, signing, timestamp, nonce, body)
    if signature:
        headers["X-Lark-Signature"] = signature
    return Push(url, body, headers, payload)


def _signature(app: SandboxApp, signing: Signing, timestamp: str, nonce: str, body: bytes) -> str:
    if signing == "card_v1":
        return crypto.card_v1_signature(timestamp, nonce, app.verification_token, body)
    if signing == "event" and app.encrypt_key:
        return crypto.event_signature(timestamp, nonce, app.encrypt_key, body)
    return ""


@dataclass(frozen=True)
class Delivery:
    """How the console answered one push: ``status`` None when there was no answer."""

    url: str
    status: int | None
    answer: str = ""
    error: str = ""
    sent: dict = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == 200

    def summary(self) -> str:
        if self.status is None:
            return f"No answer from {self.url}: {self.error}"
        return f"{self.url} answered HTTP {self.status}"


def post(push: Push) -> Delivery:
    """POST the push; a timeout or a refused connection is a Delivery without status."""
    try:
        response = requests.post(
            push.url, data=push.body, headers=push.headers, timeout=ANSWER_TIMEOUT_SECONDS
        )
    except requests.Timeout:
        return Delivery(push.url, None, error=NO_ANSWER, sent=push.payload)
    except requests.RequestException as exc:
        return Delivery(push.url, None, error=type(exc).__name__, sent=push.payload)
    answer = response.content[:ANSWER_CHARS].decode("utf-8", errors="replace")
    return Delivery(push.url, response.status_code, answer=answer, sent=push.payload)


# --- What the pages call ------------------------------------------------------------------------


# What a delivery over the long connection shows where a URL would be.
OVER_SOCKET = "long connection"


def over_socket(app: SandboxApp, payload: dict) -> Delivery:
    """Hand ``payload`` (plaintext: the socket is the authentication, as on Feishu) to one of
    the app's connected clients and read its answer like an HTTP one."""
    answer = long_connection.push(app, payload)
    if answer.code is None:
        return Delivery(OVER_SOCKET, None, error=answer.error, sent=payload)
    return Delivery(OVER_SOCKET, answer.code, answer=answer.answer, sent=payload)


def uses_socket(app: SandboxApp) -> bool:
    return app.subscription_mode == SubscriptionMode.LONG_CONNECTION


def send_event(app: SandboxApp, payload: dict) -> Delivery | None:
    """Push an event envelope to the app's event request URL, or over its long connection
    (None when it has neither)."""
    if uses_socket(app):
        return over_socket(app, payload)
    if not app.event_request_url:
        return None
    return post(prepare(app, app.event_request_url, payload, signing="event"))


def card_request_url(app: SandboxApp) -> str:
    return app.card_request_url or app.event_request_url


@dataclass(frozen=True)
class CardAnswer:
    """What the person sees after a click: a toast, and maybe a new card."""

    delivery: Delivery | None
    toast: str
    toast_type: str = "info"
    card: dict | None = None
    failed: bool = False


def send_card_action(
    app: SandboxApp,
    user: SandboxUser,
    message: SandboxMessage,
    click: Click,
    *,
    callback_format: str = "",
) -> CardAnswer:
    """Deliver one click in ``callback_format`` (the app's own when blank) and read the answer.
    Each click gets its own card-update token, as on Feishu. In long-connection mode a
    new-format callback travels over the socket; an old-format one still needs the card
    request URL (Feishu does not send those over the long connection)."""
    url = card_request_url(app)
    callback_format = callback_format or app.card_callback_format
    socket = uses_socket(app) and callback_format != CallbackFormat.OLD
    if not url and not socket:
        return CardAnswer(None, "This app has no card request URL.", "error", failed=True)
    token = CardUpdateToken.objects.create(token=CardUpdateToken.new_token(), message=message)
    if callback_format == CallbackFormat.OLD:
        payload = card_action_trigger_v1(app, user, message, click, token.token)
        delivery = post(prepare(app, url, payload, signing="card_v1"))
    elif socket:
        delivery = over_socket(app, card_action_trigger(app, user, message, click, token.token))
    else:
        payload = card_action_trigger(app, user, message, click, token.token)
        delivery = post(prepare(app, url, payload, signing="event"))
    return read_card_answer(callback_format, delivery)


def read_card_answer(callback_format: str, delivery: Delivery) -> CardAnswer:
    """The answer as Feishu's client applies it. New format: ``toast`` and ``card`` (``raw``
    or ``template``). Old format: the replacement card itself, ``{}`` to keep the card.
    A failed request or an answer that is not a JSON object shows the failure toast."""
    answer = json_object_or_none(delivery.answer) if delivery.ok else None
    if answer is None:
        return CardAnswer(delivery, FAILURE_TOAST, "error", failed=True)
    toast, toast_type = _toast(answer.get("toast"))
    if callback_format == CallbackFormat.OLD:
        # FEISHU.md is unsure whether old-format answers may carry a toast: shown if present.
        card = {k: v for k, v in answer.items() if k != "toast"}
        return CardAnswer(delivery, toast, toast_type, card if looks_like_card(card) else None)
    card_field = answer.get("card")
    if card_field is None:
        return CardAnswer(delivery, toast, toast_type)
    card = _new_format_card(card_field)
    if card is None:
        return CardAnswer(delivery, FAILURE_TOAST, "error", failed=True)
    return CardAnswer(delivery, toast, toast_type, card)


def _new_format_card(card_field: object) -> dict | None:
    if not isinstance(card_field, dict):
        return None
    data = card_field.get("data")
    if card_field.get("type") == "raw" and isinstance(data, dict):
        return data
    if card_field.get("type") == "template" and isinstance(data, dict):
        return card_field  # stored as sent: the renderer says it cannot draw templates
    return None


def _toast(value: object) -> tuple[str, str]:
    if not isinstance(value, dict):
        return "", "info"
    content = value.get("content")
    i18n = value.get("i18n")
    if not content and isinstance(i18n, dict):
        content = i18n.get("en_us") or next(iter(i18n.values()), "")
    kind = value.get("type")
    return (
        content if isinstance(content, str) else "",
        kind if kind in ("success", "info", "warning", "error") else "info",
    )


@dataclass(frozen=True)
class Verification:
    """The result of "save" on a request URL: did the console echo the challenge?"""

    delivery: Delivery
    challenge: str

    @property
    def passed(self) -> bool:
        answer = json_object_or_none(self.delivery.answer) if self.delivery.ok else None
        return answer is not None and answer.get("challenge") == self.challenge


def verify_url(app: SandboxApp, url: str) -> Verification:
    payload = url_verification(app)
    return Verification(post(prepare(app, url, payload, signing="none")), payload["challenge"])
