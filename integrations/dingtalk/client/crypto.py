"""DingTalk's event subscription cryptography (HTTP push, 事件订阅 → HTTP 推送).

DingTalk POSTs ``{"encrypt": "<base64>"}`` to the request URL with ``signature``, ``timestamp``
and ``nonce`` in the query string, and expects the same shape back, encrypting ``"success"``.
The scheme, as DingTalk's own helper libraries implement it
(https://github.com/open-dingtalk/DingTalk-Callback-Crypto, ``DingCallbackCrypto.java`` and
``DingCallbackCrypto3.py``):

* the key is the 43-character ``aes_key`` of the Events & Callbacks page plus ``"="``,
  base64-decoded: 32 bytes, so AES-256; the IV is the key's first 16 bytes (not random);
* the plaintext is 16 random characters, the message's length in 4 bytes (big-endian), the
  message (UTF-8), and the *owner key*: the app's Client ID (AppKey) for events subscribed on
  the developer console (the corp id for the legacy corp-level callbacks, a suite key for
  third-party apps); a message whose owner key is another app's is refused;
* padded PKCS#7-style to a multiple of **32** bytes (DingTalk's block, not AES's 16), then
  AES-CBC, then base64;
* the signature is the hex SHA-1 of the four strings token, timestamp, nonce and encrypted text,
  sorted and joined: ``sha1("".join(sorted([token, timestamp, nonce, encrypt])))``.

Signatures are compared in constant time. Nothing here logs or echoes a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import string
import struct

from Crypto.Cipher import AES

AES_KEY_LENGTH = 43
# DingTalk pads to 32-byte blocks (``PKCS7Padding.BLOCK_SIZE = 32`` in its Java helper).
PAD_BLOCK = 32
IV_BYTES = 16
RANDOM_PREFIX = 16
LENGTH_BYTES = 4
# The aes_key DingTalk generates is letters and digits (a subset of base64's alphabet).
AES_KEY_PATTERN = re.compile(r"^[A-Za-z0-9]{43}$")
NONCE_ALPHABET = string.ascii_letters + string.digits


class CryptoError(ValueError):
    """A message could not be opened (or sealed) with the app's keys; never shows a key."""


def aes_key_problem(aes_key: str) -> str | None:
    """Why ``aes_key`` cannot be DingTalk's encryption key, or None when it can be."""
    if len(aes_key) != AES_KEY_LENGTH:
        return f"it must be {AES_KEY_LENGTH} characters (it has {len(aes_key)})"
    if not AES_KEY_PATTERN.match(aes_key):
        return "it may hold only letters and digits"
    return None


def _key(aes_key: str) -> bytes:
    problem = aes_key_problem(aes_key)
    if problem:
        raise CryptoError(f"the aes_key is not usable: {problem}")
    return base64.b64decode(aes_key + "=")


def _cipher(key: bytes) -> object:
    return AES.new(key, AES.MODE_CBC, iv=key[:IV_BYTES])


def random_text(length: int) -> str:
    """Letters and digits, as DingTalk's helpers make the prefix and the nonce."""
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(length))


def _pad(data: bytes) -> bytes:
    count = PAD_BLOCK - len(data) % PAD_BLOCK  # 1..32: a full block when already aligned
    return data + bytes([count]) * count


def _unpad(data: bytes) -> bytes:
    count = data[-1] if data else 0
    if not 1 <= count <= PAD_BLOCK or data[-count:] != bytes([count]) * count:
        raise CryptoError("the padding is wrong: a wrong aes_key, or a corrupted message")
    return data[:-count]


def encrypt(aes_key: str, owner_key: str, message: str, *, prefix: str | None = None) -> str:
    """``message`` sealed for ``owner_key`` (the Client ID): base64 text. ``prefix`` fixes the
    16 random characters, for tests that compare with published values."""
    prefix = random_text(RANDOM_PREFIX) if prefix is None else prefix
    if len(prefix.encode()) != RANDOM_PREFIX:
        raise CryptoError(f"the random prefix must be {RANDOM_PREFIX} bytes")
    body = message.encode()
    plain = prefix.encode() + struct.pack(">I", len(body)) + body + owner_key.encode()
    sealed = _cipher(_key(aes_key)).encrypt(_pad(plain))  # type: ignore[attr-defined]
    return base64.b64encode(sealed).decode()


def decrypt(aes_key: str, owner_key: str, encrypted: str) -> str:
    """The message inside ``encrypted``; ``CryptoError`` when it is not base64, does not open
    with the key, or was sealed for another owner (another app's Client ID)."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError):
        raise CryptoError("the encrypt field is not base64") from None
    if not raw or len(raw) % AES.block_size:
        raise CryptoError("the encrypted message has the wrong length")
    plain = _unpad(_cipher(_key(aes_key)).decrypt(raw))  # type: ignore[attr-defined]
    header = RANDOM_PREFIX + LENGTH_BYTES
    if len(plain) < header:
        raise CryptoError("the decrypted message is too short")
    (length,) = struct.unpack(">I", plain[RANDOM_PREFIX:header])
    if header + length > len(plain):
        raise CryptoError("the decrypted message's length field is wrong")
    sealed_for = plain[header + length :]
    if not hmac.compare_digest(sealed_for, owner_key.encode()):
        raise CryptoError("the message was sealed for another app (its Client ID differs)")
    try:
        return plain[header : header + length].decode()
    except UnicodeDecodeError:
        raise CryptoError("the decrypted message is not UTF-8 text") from None


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    """The hex SHA-1 over the four strings, sorted and joined (DingTalk's ``getSignature``)."""
    joined = "".join(sorted([token, timestamp, nonce, encrypted]))
    return hashlib.sha1(joined.encode()).hexdigest()  # noqa: S324 -- DingTalk's protocol


def signatures_match(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode())


def sealed_answer(
    aes_key: str, owner_key: str, token: str, message: str, *, timestamp: str, nonce: str
) -> dict[str, str]:
    """What DingTalk expects back (``getEncryptedMap``): ``message`` encrypted and signed."""
    encrypted = encrypt(aes_key, owner_key, message)
    return {
        "msg_signature": signature(token, timestamp, nonce, encrypted),
        "timeStamp": timestamp,
        "nonce": nonce,
        "encrypt": encrypted,
    }
