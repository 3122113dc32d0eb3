"""What the sandbox pushes to the console, built, encrypted and signed as DingTalk does, and how
it judges the answer as DingTalk does.

* A push is ``POST <request URL>?signature=..&timestamp=..&nonce=..`` with ``{"encrypt": ..}``:
  the event as JSON, sealed with the app's aes_key for its Client ID, the signature over the
  Signature Token, the timestamp (milliseconds), the nonce and the encrypted text
  (``integrations.dingtalk.client.crypto``, which follows DingTalk's helper libraries).
* Events are HTTP push bodies as DingTalk's documents show them: flat, the event's fields next
  to ``EventType``, ``EventTime``, ``CorpId`` and a fresh ``eventId``. Saving the request URL
  pushes ``{"EventType": "check_url"}``.
* The answer must be a JSON object whose ``encrypt`` opens to ``"success"`` and whose
  ``msg_signature`` is right for its ``timeStamp`` and ``nonce``; anything else is a failed
  push, with the reason. DingTalk gives the console 1.5 s: a slower answer is recorded as late.

Requests go only to the URLs configured in the sandbox's own apps. The sandbox is a development
tool served only when DINGTALK_SANDBOX_ENABLED, and pointing an app at this very machine is its
normal use, so there is deliberately no SSRF guard here.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from integrations.dingtalk.client import crypto
from integrations.dingtalk_sandbox.models import PushRecord, SandboxApp, SandboxGroup

# DingTalk counts a push as failed without the right answer within 1500 ms.
ANSWER_WITHIN_SECONDS = 1.5
# The sandbox waits longer, so that a slow answer is reported as late rather than lost.
TIMEOUT_SECONDS = 10.0
NONCE_LENGTH = 8
SUCCESS = "success"
# The organisation's administrator, as the operator of the sandbox's group events.
OPERATOR = "manager0001"

Post = Callable[..., Any]


def _now_ms() -> int:
    return int(time.time() * 1000)


def _envelope(app: SandboxApp, event_type: str, **fields: Any) -> dict[str, Any]:
    now = _now_ms()
    return {
        "EventType": event_type,
        "EventTime": now,
        "CorpId": app.corp_id,
        "BizId": str(now),
        "eventId": uuid.uuid4().hex,
        **fields,
    }


def check_url_event() -> dict[str, Any]:
    return {"EventType": "check_url"}


def cool_app_event(app: SandboxApp, group: SandboxGroup, *, installed: bool) -> dict[str, Any]:
    """``im_cool_app_install`` / ``im_cool_app_uninstall`` (群内安装 / 卸载酷应用事件)."""
    return _envelope(
        app,
        "im_cool_app_install" if installed else "im_cool_app_uninstall",
        coolAppCode=app.cool_app_code,
        operateTime=str(_now_ms()),
        openConversationCorpId=app.corp_id,
        robotCode=app.client_id,
        openConversationId=group.open_conversation_id,
        operator=OPERATOR,
    )


def renamed_event(app: SandboxApp, group: SandboxGroup) -> dict[str, Any]:
    """``chat_update_title`` (群会话更换群名称)."""
    return _envelope(
        app,
        "chat_update_title",
        timeStamp=_now_ms(),
        chatId="chat" + group.open_conversation_id.removeprefix("cid"),
        corpId=app.corp_id,
        title=group.title,
        openConversationId=group.open_conversation_id,
        operator=OPERATOR,
    )


def signed_request(app: SandboxApp, event: dict[str, Any]) -> tuple[dict[str, str], dict]:
    """The query string and the body of one push of ``event``."""
    encrypted = crypto.encrypt(app.aes_key, app.client_id, json.dumps(event, ensure_ascii=False))
    timestamp = str(_now_ms())
    nonce = crypto.random_text(NONCE_LENGTH)
    signature = crypto.signature(app.signature_token, timestamp, nonce, encrypted)
    return {"signature": signature, "timestamp": timestamp, "nonce": nonce}, {"encrypt": encrypted}


def push(app: SandboxApp, event: dict[str, Any], *, post: Post = requests.post) -> PushRecord:
    """Push ``event`` to the app's request URL and record what became of it. ``post`` is
    ``requests.post``'s shape (tests pass one that calls the console in-process)."""
    query, body = signed_request(app, event)
    started = time.monotonic()
    record = PushRecord(app=app, event_type=event["EventType"], url=app.event_request_url)
    try:
        response = post(app.event_request_url, params=query, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        record.outcome = f"no answer: {type(exc).__name__}"
    else:
        record.http_status = response.status_code
        record.ok, record.outcome = judge(app, response.status_code, response.content)
    record.seconds = round(time.monotonic() - started, 3)
    if record.ok and record.seconds > ANSWER_WITHIN_SECONDS:
        record.outcome += f" (late: DingTalk waits {ANSWER_WITHIN_SECONDS:g} s)"
    record.save()
    return record


def judge(app: SandboxApp, status: int, content: bytes) -> tuple[bool, str]:
    """Whether the console's answer is DingTalk's "success", and what it was otherwise."""
    preview = content[:300].decode("utf-8", "replace")
    if status != 200:
        return False, f"HTTP {status}: {preview}"
    try:
        answer = json.loads(content)
    except ValueError:
        return False, f"not JSON: {preview}"
    if not isinstance(answer, dict) or not all(
        isinstance(answer.get(k), str) for k in ("msg_signature", "timeStamp", "nonce", "encrypt")
    ):
        return (
            False,
            f"not an encrypted answer (msg_signature, timeStamp, nonce, encrypt): {preview}",
        )
    expected = crypto.signature(
        app.signature_token, answer["timeStamp"], answer["nonce"], answer["encrypt"]
    )
    if not crypto.signatures_match(expected, answer["msg_signature"]):
        return False, "the answer's msg_signature is wrong"
    try:
        said = crypto.decrypt(app.aes_key, app.client_id, answer["encrypt"])
    except crypto.CryptoError as exc:
        return False, f"the answer does not open: {exc}"
    if said != SUCCESS:
        return False, f"the answer says {said!r}, not {SUCCESS!r}"
    return True, SUCCESS
