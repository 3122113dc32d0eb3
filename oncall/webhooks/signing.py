"""Signing outbound requests the Standard Webhooks way (https://www.standardwebhooks.com/,
spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md).

A request carries three headers:

* ``webhook-id``: the message's id, the same on every retry of one message (receivers
  deduplicate with it);
* ``webhook-timestamp``: seconds since the epoch when this attempt was signed (receivers refuse
  one too far from their clock, which stops replays);
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">``, one per
  secret, separated by spaces. During a secret's rotation the old and the new secret both sign,
  so a receiver still holding the old one keeps verifying until it is given the new one.

A secret is ``whsec_`` + base64 of 24 to 64 random bytes; the HMAC key is the decoded bytes.
Any receiver using the ``standardwebhooks`` library (or Svix's) verifies these requests as they
are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Iterable

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"


class InvalidSecret(ValueError):
    """A secret is not ``whsec_`` + base64 of at least 24 bytes."""


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key a ``whsec_`` secret stands for. Raises ``InvalidSecret``."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidSecret("A signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError:
        raise InvalidSecret("A signing secret is whsec_ followed by base64") from None
    if len(key) < 24:
        raise InvalidSecret("A signing secret holds at least 24 bytes")
    return key


def new_message_id() -> str:
    """A message id for ``webhook-id`` (``msg_`` + 32 hex digits)."""
    return f"msg_{uuid.uuid4().hex}"


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``body`` under ``secret``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def sign(
    secrets_: Iterable[str], message_id: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, signed with every secret given (the
    current one first, then any still in their rotation overlap). ``timestamp`` defaults to
    now: sign each attempt afresh, so that a retry a day later is not refused as a replay."""
    keys = list(secrets_)
    if not keys:
        raise InvalidSecret("At least one signing secret is needed")
    moment = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(moment),
        "webhook-signature": " ".join(signature(s, message_id, moment, body) for s in keys),
    }


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Whether any ``v1`` signature in ``headers`` is ``body``'s under ``secret`` (compared in
    constant time). The timestamp's age is the receiver's policy and is not checked here; the
    console uses this for its own checks, receivers use their library."""
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get("webhook-id", "")
    try:
        timestamp = int(lowered.get("webhook-timestamp", ""))
    except ValueError:
        return False
    expected = signature(secret, message_id, timestamp, body).encode()
    offered = lowered.get("webhook-signature", "").split(" ")
    # Every candidate is compared, so the time taken does not say which one matched.
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in offered]
    return any(matches)
