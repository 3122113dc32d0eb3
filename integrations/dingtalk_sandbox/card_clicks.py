"""A click on a card's button, called back to the console as DingTalk calls back an interactive
card's request button: to the URL registered under the card's route key, the click
(``outTrackId``, ``userId``, ``content`` with ``cardPrivateData.actionIds``) sealed with the
app's aes_key for its Client ID and signed with its Signature Token, as the sandbox's event
pushes are (``push.signed_request``); over the Stream instead when the app pushes by Stream
mode (``stream.callback_message``, unsigned: the connection is the authentication). The answer
is judged and recorded as a ``PushRecord`` (``card_callback``): HTTP 200 with a JSON object is
success, its toast the outcome.
"""

from __future__ import annotations

import json
import time
import uuid

import requests

from integrations.dingtalk_sandbox import stream
from integrations.dingtalk_sandbox.models import PushRecord, SandboxCard, SandboxCardCallback
from integrations.dingtalk_sandbox.push import TIMEOUT_SECONDS, Post, signed_request

EVENT_TYPE = "card_callback"
# The Stream callback topic of card clicks (the ``dingtalk-stream`` SDK's
# ``CallbackHandler.TOPIC_CARD_CALLBACK``).
STREAM_TOPIC = "/v1.0/card/instances/callback"


def buttons(card: SandboxCard) -> list[dict]:
    """The card's request buttons: ``{"id", "label", "status"}``."""
    found = []
    for element in card.data.get("contents") or []:
        if isinstance(element, dict) and element.get("type") == "action":
            for action in element.get("actions") or []:
                if isinstance(action, dict) and action.get("actionType") == "request":
                    label = (action.get("label") or {}).get("text") or action.get("id")
                    found.append(
                        {"id": action.get("id"), "label": label, "status": action.get("status")}
                    )
    return found


def click_payload(card: SandboxCard, user_id: str, action_id: str) -> dict:
    private = {"cardPrivateData": {"actionIds": [action_id], "params": {}}}
    return {
        "outTrackId": card.card_biz_id,
        "corpId": card.app.corp_id,
        "userId": user_id,
        "content": json.dumps(private),
        "type": "actionCallback",
        "value": json.dumps(private),
        "spaceType": "IM_GROUP" if card.group_id else "IM_ROBOT",
        "openConversationId": card.group.open_conversation_id if card.group_id else "",
        "callbackId": uuid.uuid4().hex,
    }


def click(
    card: SandboxCard, user_id: str, action_id: str, *, post: Post = requests.post
) -> PushRecord:
    """Call the console back with a click of ``action_id`` by ``user_id`` (over the Stream
    when the app pushes by Stream mode)."""
    if card.app.stream_mode:
        return _click_by_stream(card, user_id, action_id)
    route = SandboxCardCallback.objects.filter(app=card.app, route_key=card.route_key).first()
    record = PushRecord(app=card.app, event_type=EVENT_TYPE, url=route.url if route else "")
    if route is None:
        record.outcome = f"no card callback URL is registered for route key {card.route_key!r}"
        record.save()
        return record
    query, body = signed_request(card.app, click_payload(card, user_id, action_id))
    started = time.monotonic()
    try:
        response = post(route.url, params=query, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        record.outcome = f"no answer: {type(exc).__name__}"
    else:
        record.http_status = response.status_code
        record.ok, record.outcome = judge(response.status_code, response.content)
    record.seconds = round(time.monotonic() - started, 3)
    record.save()
    return record


def judge(status: int, content: bytes) -> tuple[bool, str]:
    preview = content[:300].decode("utf-8", "replace")
    try:
        answer = json.loads(content)
    except ValueError:
        return False, f"HTTP {status}, not JSON: {preview}"
    if status != 200 or not isinstance(answer, dict):
        return False, f"HTTP {status}: {preview}"
    toast = answer.get("toast") if isinstance(answer.get("toast"), dict) else {}
    return True, str(toast.get("content") or "ok")


def _click_by_stream(card: SandboxCard, user_id: str, action_id: str) -> PushRecord:
    payload = click_payload(card, user_id, action_id)
    started = time.monotonic()
    answer = stream.deliver(card.app, stream.callback_message(card.app, STREAM_TOPIC, payload))
    record = PushRecord(app=card.app, event_type=EVENT_TYPE, http_status=answer.code)
    record.url = stream.socket_base_url() + stream.CLIENT_PATH
    if answer.error:
        record.outcome = answer.error
    else:
        record.ok, record.outcome = judge_stream(answer)
    record.seconds = round(time.monotonic() - started, 3)
    record.save()
    return record


def judge_stream(answer: stream.StreamAnswer) -> tuple[bool, str]:
    """A Stream acknowledgement: code 200 with ``{"response": {...}}`` in its data."""
    try:
        response = json.loads(answer.data or "{}").get("response")
    except (ValueError, AttributeError):
        response = None
    if not answer.ok or not isinstance(response, dict):
        return False, f"code {answer.code}: {answer.data[:300] or answer.message}"
    toast = response.get("toast") if isinstance(response.get("toast"), dict) else {}
    return True, str(toast.get("content") or "ok")
