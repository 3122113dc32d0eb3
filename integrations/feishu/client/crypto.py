"""Feishu / Lark callback cryptography (see shared FEISHU.md, "Inbound").

* Encrypted bodies ``{"encrypt": "<base64>"}``: AES-256-CBC, key = SHA-256 of the Encrypt Key,
  the first 16 bytes of the decoded blob are the IV, PKCS#7 padding, UTF-8 JSON inside.
* Events and ``card.action.trigger`` callbacks are signed with
  ``hex(sha256(timestamp + nonce + encrypt_key + body))`` (plain SHA-256, not HMAC).
* Old-format card callbacks (``card.action.trigger_v1``) with
  ``hex(sha1(timestamp + nonce + verification_token + body))``.

Signatures are compared in constant time. ``encrypt`` exists for the local sandbox, which must
send exactly what Feishu would.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes
from Crypto.Util.Padding import pad, unpad

BLOCK = 16


class DecryptError(ValueError):
    """The body could not be decrypted with the app's Encrypt Key (never echoes the key)."""


def _key(encrypt_key: str) -> bytes:
    return hashlib.sha256(encrypt_key.encode()).digest()


def decrypt(encrypt_key: str, encrypted: str) -> str:
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError("the encrypt field is not base64") from None
    if len(raw) < 2 * BLOCK or len(raw) % BLOCK:
        raise DecryptError("the encrypted body has the wrong length")
    cipher = AES.new(_key(encrypt_key), AES.MODE_CBC, iv=raw[:BLOCK])
    try:
        return unpad(cipher.decrypt(raw[BLOCK:]), BLOCK).decode()
    except (ValueError, UnicodeDecodeError):
        raise DecryptError("wrong Encrypt Key, or a corrupted body") from None


def encrypt(encrypt_key: str, plaintext: str, *, iv: bytes | None = None) -> str:
    iv = iv or get_random_bytes(BLOCK)
    cipher = AES.new(_key(encrypt_key), AES.MODE_CBC, iv=iv)
    return base64.b64encode(iv + cipher.encrypt(pad(plaintext.encode(), BLOCK))).decode()


def event_signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """``X-Lark-Signature`` of events and new-format card callbacks."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()


def card_v1_signature(timestamp: str, nonce: str, verification_token: str, body: bytes) -> str:
    """``X-Lark-Signature`` of old-format (``card.action.trigger_v1``) card callbacks."""
    return hashlib.sha1(  # noqa: S324 -- Feishu's protocol, not our choice of hash
        (timestamp + nonce + verification_token).encode() + body
    ).hexdigest()


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())
