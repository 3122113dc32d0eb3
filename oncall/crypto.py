"""Encryption of secrets at rest (AES-256-GCM, pycryptodome).

Keys come from ``settings.FIELD_ENCRYPTION_KEYS``: the first encrypts, every one decrypts, so
a key is rotated by putting a new one first, running ``manage.py reencrypt_secrets`` and then
removing the old one. Each stored value names the key that sealed it:
``v1:<key id>:<base64(nonce | ciphertext | tag)>``.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from typing import Any

from Crypto.Cipher import AES
from Crypto.Random import get_random_bytes
from django.conf import settings
from django.db import models

PREFIX = "v1"
NONCE_BYTES = 12
TAG_BYTES = 16


class DecryptionError(Exception):
    """A stored value could not be opened with any configured key (never shows the value)."""


@lru_cache(maxsize=16)
def _key_from_secret(secret: str) -> tuple[str, bytes]:
    key = hashlib.sha256(secret.encode()).digest()
    key_id = hashlib.sha256(b"key-id:" + key).hexdigest()[:8]
    return key_id, key


def _keys() -> list[tuple[str, bytes]]:
    return [_key_from_secret(secret) for secret in settings.FIELD_ENCRYPTION_KEYS]


def encrypt(plaintext: str) -> str:
    key_id, key = _keys()[0]
    cipher = AES.new(key, AES.MODE_GCM, nonce=get_random_bytes(NONCE_BYTES))
    ciphertext, tag = cipher.encrypt_and_digest(plaintext.encode())
    blob = base64.b64encode(cipher.nonce + ciphertext + tag).decode()
    return f"{PREFIX}:{key_id}:{blob}"


def decrypt(stored: str) -> str:
    return _decrypt(stored, tuple(settings.FIELD_ENCRYPTION_KEYS))


# Loading a Feishu app opens its three secrets, about 0.25 ms each here (building the GCM
# cipher is most of it), and every card click and card sync loads one. A stored value always
# opens to the same plaintext, so what was opened is kept, per set of configured keys: with a
# key removed, a value it sealed fails again. The plaintexts stay in a process that has already
# read them; failures are not kept.
@lru_cache(maxsize=256)
def _decrypt(stored: str, secrets: tuple[str, ...]) -> str:
    try:
        prefix, key_id, blob = stored.split(":", 2)
        raw = base64.b64decode(blob, validate=True)
    except ValueError:
        raise DecryptionError("stored secret is not in the expected format") from None
    if prefix != PREFIX:
        raise DecryptionError(f"unknown secret format {prefix!r}")
    key = dict(_key_from_secret(secret) for secret in secrets).get(key_id)
    if key is None:
        raise DecryptionError(f"no configured key has id {key_id} (was a key removed?)")
    nonce, body, tag = raw[:NONCE_BYTES], raw[NONCE_BYTES:-TAG_BYTES], raw[-TAG_BYTES:]
    try:
        cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
        return cipher.decrypt_and_verify(body, tag).decode()
    except ValueError:
        raise DecryptionError(f"secret sealed with key {key_id} failed authentication") from None


def needs_reencryption(stored: str) -> bool:
    return not stored.startswith(f"{PREFIX}:{_keys()[0][0]}:")


class EncryptedTextField(models.TextField):
    """A text column holding ``encrypt(value)``; Python code only ever sees the plaintext."""

    description = "Text encrypted at rest with AES-GCM"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value in (None, ""):
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if value in (None, ""):
            return value
        return encrypt(value)
