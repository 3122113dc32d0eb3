"""Opening what Feishu POSTs to an app's callback URLs: authenticate, decrypt, classify.

One URL may receive all of these (see /work/shared/FEISHU.md, "Inbound"):

* URL verification challenges (plain or encrypted), authenticated by the Verification Token;
* events, schema 2.0 (``header.event_type``) or 1.0 (``type: event_callback``);
* new-format card callbacks (``card.action.trigger``, a schema 2.0 envelope);
* old-format card callbacks (``card.action.trigger_v1``, flat, its ``token`` is the card-update
  token, so the SHA-1 signature is its only authentication).

The signature is checked on the raw bytes before anything is decrypted. With an Encrypt Key,
events and new-format cards must carry a valid SHA-256 signature; old-format cards always need
their SHA-1 one. A signed request whose timestamp is more than
``FEISHU_CALLBACK_MAX_SKEW_SECONDS`` from now is refused: Feishu documents no window, so this is
our own replay bound (a replay inside it is still caught by the receipt of its event id).
The window is 8 hours, not minutes, on purpose: Feishu re-sends an event it got no answer to
after about 15 s, 5 min, 1 h and 6 h, and such a re-send (which may carry its first timestamp)
must be processed once, not refused. Receipts outlive the window (days, a system check holds
it), so nothing signed is ever accepted twice.

Bodies, plain or decrypted, are read by the console's one edge reader (``oncall.jsonbody``): JSON
too deep or with numbers that cannot be read is a 400 with the reason, and text the database
cannot store (NUL, lone surrogates) arrives here already replaced with U+FFFD.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from django.conf import settings

from integrations.feishu.client import crypto
from integrations.feishu.models import FeishuApp
from oncall import jsonbody

CARD_V1 = "card.action.trigger_v1"
CARD_V2 = "card.action.trigger"

Kind = Literal["challenge", "event", "card"]
Signed = Literal["sha256", "sha1", ""]


class Rejected(Exception):
    """The request is refused: ``status`` 400 (malformed) or 401 (not from Feishu)."""

    def __init__(self, status: int, reason: str):
        self.status = status
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Callback:
    """An authenticated, decrypted request, ready to be handled."""

    kind: Kind
    # e.g. "im.message.receive_v1", "card.action.trigger", "card.action.trigger_v1"
    type: str
    # What makes a repeat recognisable: event_id, uuid, or a digest of the card-update token.
    dedup_key: str
    payload: dict = field(repr=False)
    event: dict = field(repr=False)
    challenge: str = ""


def open_callback(app: FeishuApp, headers: Mapping[str, str], body: bytes) -> Callback:
    signed = _check_signature(app, headers, body)
    payload = _decrypted_payload(app, _json_object(body, "The body"), signed)
    callback = _classify(payload)
    _authenticate(app, callback, signed)
    if signed:
        _check_timestamp(headers)
    return callback


def open_pushed(app: FeishuApp, body: bytes) -> Callback:
    """An event or new-format card callback that came over the app's long connection.

    No signature or timestamp to check: the connection itself was opened with the App Secret,
    and Feishu sends plaintext over it (an ``{"encrypt"}`` body is still decrypted). Challenges
    and old-format card callbacks never travel this way, so they are refused."""
    payload = _decrypted_payload(app, _json_object(body, "The body"), "sha256")
    callback = _classify(payload)
    if callback.kind == "challenge" or callback.type == CARD_V1:
        raise Rejected(400, f"A {callback.type} does not come over the long connection.")
    return callback


# --- Steps -------------------------------------------------------------------------------------


def _json_object(raw: bytes | str, what: str) -> dict:
    try:
        value = jsonbody.decode(raw).value
    except jsonbody.InvalidJSON as invalid:
        raise Rejected(400, f"{what} is not valid JSON: {invalid.reason}") from None
    if not isinstance(value, dict):
        raise Rejected(400, f"{what} must be a JSON object.")
    return value


def _check_signature(app: FeishuApp, headers: Mapping[str, str], body: bytes) -> Signed:
    """Which signature the request carries and verifies with, or "" when it carries none.
    A signature that verifies with neither key is refused at once."""
    given = headers.get("X-Lark-Signature", "")
    if not given:
        return ""
    timestamp = headers.get("X-Lark-Request-Timestamp", "")
    nonce = headers.get("X-Lark-Request-Nonce", "")
    if app.encrypt_key and crypto.signatures_match(
        crypto.event_signature(timestamp, nonce, app.encrypt_key, body), given
    ):
        return "sha256"
    if crypto.signatures_match(
        crypto.card_v1_signature(timestamp, nonce, app.verification_token, body), given
    ):
        return "sha1"
    raise Rejected(401, "The X-Lark-Signature does not match: check the Encrypt Key.")


def _decrypted_payload(app: FeishuApp, outer: dict, signed: Signed) -> dict:
    """The decrypted body. Failures on an unsigned body are all answered alike (401): telling
    "bad padding" from "bad JSON" or "not signed" would make a padding oracle for anyone
    holding a captured encrypted event."""
    if "encrypt" not in outer:
        return outer
    if not app.encrypt_key:
        raise Rejected(
            400,
            "The body is encrypted but this app has no Encrypt Key: copy it from Events & "
            "Callbacks → Encryption Strategy into the integration.",
        )
    encrypted = outer["encrypt"]
    if not isinstance(encrypted, str):
        raise Rejected(400, "The encrypt field must be a string.")
    status = 400 if signed else 401
    try:
        plaintext = crypto.decrypt(app.encrypt_key, encrypted)
        return _json_object(plaintext, "The decrypted body")
    except (crypto.DecryptError, Rejected):
        raise Rejected(
            status, "The body cannot be decrypted with this app's Encrypt Key."
        ) from None


def _classify(payload: dict) -> Callback:
    if payload.get("type") == "url_verification":
        challenge = payload.get("challenge")
        if not isinstance(challenge, str) or not challenge:
            raise Rejected(400, "A url_verification request needs a challenge string.")
        return Callback("challenge", "url_verification", "", payload, {}, challenge)
    if payload.get("schema") == "2.0":
        return _schema2(payload)
    if payload.get("type") == "event_callback":
        return _schema1(payload)
    if isinstance(payload.get("action"), dict) and "open_message_id" in payload:
        return _card_v1(payload)
    raise Rejected(400, "This is not a Feishu event or card callback.")


def _schema2(payload: dict) -> Callback:
    header, event = payload.get("header"), payload.get("event")
    if not isinstance(header, dict) or not isinstance(event, dict):
        raise Rejected(400, "A schema 2.0 body needs header and event objects.")
    event_type, event_id = header.get("event_type"), header.get("event_id")
    if not isinstance(event_type, str) or not event_type:
        raise Rejected(400, "header.event_type is missing.")
    if not isinstance(event_id, str) or not event_id:
        raise Rejected(400, "header.event_id is missing.")
    kind: Kind = "card" if event_type == CARD_V2 else "event"
    return Callback(kind, event_type, event_id[:128], payload, event)


def _schema1(payload: dict) -> Callback:
    event, event_uuid = payload.get("event"), payload.get("uuid")
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise Rejected(400, "A schema 1.0 event needs an event object with a type.")
    if not isinstance(event_uuid, str) or not event_uuid:
        raise Rejected(400, "A schema 1.0 event needs a uuid.")
    return Callback("event", event["type"], event_uuid[:128], payload, event)


def _card_v1(payload: dict) -> Callback:
    update_token = payload.get("token")
    if not isinstance(update_token, str) or not update_token:
        raise Rejected(400, "An old-format card callback needs its card token.")
    # Each click gets its own card-update token: the same click delivered twice shares it.
    digest = hashlib.sha256(update_token.encode()).hexdigest()
    return Callback("card", CARD_V1, "card-v1:" + digest, payload, payload)


def _authenticate(app: FeishuApp, callback: Callback, signed: Signed) -> None:
    if callback.type == CARD_V1:
        if signed != "sha1":
            raise Rejected(401, "An old-format card callback must carry a valid signature.")
        return
    if not _token_matches(app, _verification_token_of(callback)):
        raise Rejected(401, "The Verification Token does not match this app's.")
    if callback.kind != "challenge" and app.encrypt_key and signed != "sha256":
        raise Rejected(401, "This app has an Encrypt Key, so the request must be signed with it.")


def _verification_token_of(callback: Callback) -> str:
    if callback.payload.get("schema") == "2.0":
        token = callback.payload["header"].get("token")
    else:
        token = callback.payload.get("token")
    return token if isinstance(token, str) else ""


def _token_matches(app: FeishuApp, given: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), app.verification_token.encode())


def _check_timestamp(headers: Mapping[str, str]) -> None:
    raw = headers.get("X-Lark-Request-Timestamp", "")
    try:
        timestamp = int(raw)
    except ValueError:
        raise Rejected(401, "X-Lark-Request-Timestamp is missing or not a number.") from None
    if abs(time.time() - timestamp) > settings.FEISHU_CALLBACK_MAX_SKEW_SECONDS:
        raise Rejected(
            401,
            "The request's timestamp is too far from now "
            f"(more than {settings.FEISHU_CALLBACK_MAX_SKEW_SECONDS} s): a replay, or a clock "
            "that needs NTP.",
        )
