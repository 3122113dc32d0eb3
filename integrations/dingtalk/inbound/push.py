"""Opening what DingTalk POSTs to an app's event subscription request URL (HTTP push):
authenticate, check freshness, decrypt, classify.

A push is ``POST <url>?signature=..&timestamp=..&nonce=..`` with ``{"encrypt": "<base64>"}``
(older helpers name the query parameters ``msg_signature`` and ``timeStamp``; both are read).
The signature covers the Signature Token, the timestamp, the nonce and the encrypted text, and
is checked first, in constant time, before anything is decrypted; then the timestamp must be
within ``DINGTALK_EVENT_MAX_SKEW_SECONDS`` of now (DingTalk signs each push as it sends it; the
window is the console's replay bound); then the text must open with the aes_key and have been
sealed for this app's Client ID. Inside is a JSON object whose ``EventType`` says what it is:
``check_url`` when an admin saves the request URL, else an event.

The decrypted body is read by the console's one edge reader (``oncall.jsonbody``): JSON too deep
or with numbers that cannot be read is refused with the reason.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings

from integrations.dingtalk.client import crypto
from integrations.dingtalk.models import DingTalkApp
from oncall import jsonbody

CHECK_URL = "check_url"
# A timestamp above this is in milliseconds (DingTalk's pushes carry milliseconds; its older
# documents show seconds): 10^11 seconds is the year 5138.
MILLISECONDS_ABOVE = 10**11


class Refused(Exception):
    """The push is refused: ``status`` 400 (malformed) or 401 (not from DingTalk, or stale),
    ``code`` a short word for the sender's log, ``reason`` the words."""

    def __init__(self, status: int, code: str, reason: str):
        self.status = status
        self.code = code
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Push:
    """An authenticated, decrypted push, ready to be handled."""

    # "check_url", "chat_update_title", "im_cool_app_install", ...
    type: str
    # What makes a second copy of this request recognisable (its signed triple).
    request_key: str
    # What makes the event recognisable when DingTalk pushes it again ("" for check_url).
    event_key: str
    payload: dict = field(repr=False)

    @property
    def is_check(self) -> bool:
        return self.type == CHECK_URL


@dataclass(frozen=True)
class Sealed:
    """An authenticated, fresh, decrypted request: its JSON object, its text, and the key that
    makes a second copy of the request recognisable (its signed triple)."""

    payload: dict = field(repr=False)
    plaintext: str = field(repr=False)
    request_key: str


def open_sealed(
    app: DingTalkApp, query: Mapping[str, str], body: bytes, *, now: float | None = None
) -> Sealed:
    """Check the signature, the timestamp and the sealing of a request DingTalk signed and
    encrypted with the app's keys (event pushes and card callbacks alike), and open it."""
    signature, timestamp, nonce = _signed_params(query)
    encrypted = _encrypted_text(body)
    expected = crypto.signature(app.signature_token, timestamp, nonce, encrypted)
    if not crypto.signatures_match(expected, signature):
        raise Refused(
            401,
            "bad_signature",
            "The signature does not match: check the Signature Token in the console.",
        )
    _check_fresh(timestamp, time.time() if now is None else now)
    try:
        plaintext = crypto.decrypt(app.aes_key, app.client_id, encrypted)
    except crypto.CryptoError as error:
        raise Refused(401, "undecryptable", f"The message does not open: {error}.") from None
    return Sealed(
        payload=_json_object(plaintext),
        plaintext=plaintext,
        request_key="request:" + _digest(f"{signature.strip().lower()}\n{timestamp}\n{nonce}"),
    )


def open_push(
    app: DingTalkApp, query: Mapping[str, str], body: bytes, *, now: float | None = None
) -> Push:
    sealed = open_sealed(app, query, body, now=now)
    payload = sealed.payload
    event_type = payload.get("EventType") or payload.get("eventType")
    if not isinstance(event_type, str) or not event_type:
        raise Refused(400, "malformed", "The decrypted message has no EventType.")
    return Push(
        type=event_type,
        request_key=sealed.request_key,
        event_key="" if event_type == CHECK_URL else _event_key(payload, sealed.plaintext),
        payload=payload,
    )


def _signed_params(query: Mapping[str, str]) -> tuple[str, str, str]:
    signature = query.get("signature") or query.get("msg_signature") or ""
    timestamp = query.get("timestamp") or query.get("timeStamp") or ""
    nonce = query.get("nonce") or ""
    missing = [
        name
        for name, value in (("signature", signature), ("timestamp", timestamp), ("nonce", nonce))
        if not value
    ]
    if missing:
        raise Refused(
            400,
            "unsigned",
            f"A DingTalk push carries signature, timestamp and nonce; missing: "
            f"{', '.join(missing)}.",
        )
    return signature, timestamp, nonce


def _encrypted_text(body: bytes) -> str:
    try:
        value = jsonbody.decode(body).value
    except jsonbody.InvalidJSON as invalid:
        raise Refused(400, "malformed", invalid.reason) from None
    encrypted = value.get("encrypt") if isinstance(value, dict) else None
    if not isinstance(encrypted, str) or not encrypted:
        raise Refused(400, "malformed", 'The body must be a JSON object with an "encrypt" text.')
    return encrypted


def _check_fresh(timestamp: str, now: float) -> None:
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 16:
        raise Refused(400, "malformed", "The timestamp is not a number.")
    sent = int(timestamp)
    seconds = sent / 1000 if sent > MILLISECONDS_ABOVE else float(sent)
    window = settings.DINGTALK_EVENT_MAX_SKEW_SECONDS
    if abs(now - seconds) > window:
        raise Refused(
            401,
            "stale_timestamp",
            f"The timestamp is more than {window} s from the console's clock: a replay, or a "
            "clock far off.",
        )


def _json_object(plaintext: str) -> dict:
    try:
        value = jsonbody.decode(plaintext).value
    except jsonbody.InvalidJSON as invalid:
        raise Refused(400, "malformed", f"The decrypted message: {invalid.reason}") from None
    if not isinstance(value, dict):
        raise Refused(400, "malformed", "The decrypted message is not a JSON object.")
    return value


def _event_key(payload: dict, plaintext: str) -> str:
    """``eventId`` when the push has one (every event of the current subscription does), else
    the legacy ``BizId``, else the message itself: a push repeated by DingTalk is the same."""
    for name in ("eventId", "EventId", "BizId"):
        value = payload.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return f"event:{str(value)[:100]}"
    return "event-sha:" + _digest(plaintext)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
