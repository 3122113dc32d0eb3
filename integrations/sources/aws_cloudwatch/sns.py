"""Amazon SNS's HTTP(S) delivery, shared by the kinds that take an SNS topic's subscription
(``aws_cloudwatch``, and ``aws_eventbridge`` for events relayed by a topic).

SNS posts JSON with ``Content-Type: text/plain``; the push view decodes the body whatever its
content type. ``Type`` says what it is:

* ``SubscriptionConfirmation``: the subscription is pending until someone fetches its
  ``SubscribeURL``. :func:`handshake` checks that URL (an ``sns.<region>.amazonaws.com`` host,
  ``.com.cn`` in China, ``.eu`` in the European Sovereign Cloud: never a host the sender
  chose) and hands the fetch to a task (``tasks.confirm_subscription``), so that the answer
  stays fast; nothing is stored, and the task notes the outcome on the source's recent events.
* ``UnsubscribeConfirmation``: answered, nothing stored, nothing fetched.
* ``Notification``: ``Message`` (a string: JSON or plain text) is the payload; ``MessageId``,
  ``Subject``, ``TopicArn`` and ``Timestamp`` come with it. With *raw message delivery* on,
  SNS posts the ``Message`` alone, without the envelope.

SNS's message signature (``Signature``, ``SigningCertURL``) is not verified: the push token
authenticates the request, as for every other kind.

https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from django.db import transaction

from integrations.sources.common import get_str, json_type, require_object, truncate
from oncall.events import PayloadError
from oncall.sources import Answer, PushRequest, console_error

NOTIFICATION = "Notification"
SUBSCRIPTION_CONFIRMATION = "SubscriptionConfirmation"
UNSUBSCRIBE_CONFIRMATION = "UnsubscribeConfirmation"
TYPES = (NOTIFICATION, SUBSCRIPTION_CONFIRMATION, UNSUBSCRIBE_CONFIRMATION)

# sns.<region>.amazonaws.com, .com.cn (China) and .eu (European Sovereign Cloud).
SNS_HOST = re.compile(r"^sns\.[a-z]{2}(-[a-z]+)+-\d+\.amazonaws\.(com|com\.cn|eu)$")


class Notification(NamedTuple):
    """One SNS notification: its id, subject, topic, time and the message text."""

    message_id: str
    subject: str
    topic_arn: str
    timestamp: str
    message: str


def is_envelope(payload: Any) -> bool:
    return isinstance(payload, dict) and payload.get("Type") in TYPES and "TopicArn" in payload


def message_json(payload: Any) -> Any:
    """The envelope's ``Message`` decoded as JSON, or ``None`` (cheap checks; never raises)."""
    message = payload.get("Message") if isinstance(payload, dict) else None
    if not isinstance(message, str) or not message.lstrip().startswith("{"):
        return None
    try:
        return json.loads(message)
    except ValueError:
        return None


def notification(payload: Any) -> Notification:
    """The ``Notification`` an envelope carries, else a ``PayloadError`` naming the field."""
    body = require_object(payload, None)
    kind = get_str(body, "Type", field="Type", required=True)
    if kind != NOTIFICATION:
        raise PayloadError(
            f"Type must be one of {', '.join(TYPES)}, not {truncate(kind, 40)!r}", field="Type"
        )
    message = body.get("Message")
    if not isinstance(message, str):
        raise PayloadError(
            f"Message must be a string, not {json_type(message)}"
            if message is not None
            else "Message is required",
            field="Message",
        )
    return Notification(
        message_id=get_str(body, "MessageId", field="MessageId", required=True).strip(),
        subject=get_str(body, "Subject", field="Subject").strip(),
        topic_arn=get_str(body, "TopicArn", field="TopicArn").strip(),
        timestamp=get_str(body, "Timestamp", field="Timestamp").strip(),
        message=message,
    )


def subscribe_url_problem(url: Any) -> str:
    """Why ``url`` is not a SubscribeURL the console will fetch ("" when it is)."""
    if not isinstance(url, str) or not url.strip():
        return "SubscribeURL is required"
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return "SubscribeURL is not a URL"
    if parts.scheme not in ("https", "http") or parts.username or parts.password:
        return "SubscribeURL must be an https URL of Amazon SNS"
    if not SNS_HOST.match(host):
        return (
            f"SubscribeURL's host {truncate(host, 80)!r} is not Amazon SNS "
            "(sns.<region>.amazonaws.com, .com.cn or .eu)"
        )
    return ""


def handshake(payload: Any, push: PushRequest) -> Answer | None:
    """The answer to a subscription control message; ``None`` for a notification."""
    kind = payload.get("Type") if is_envelope(payload) else None
    if kind == UNSUBSCRIBE_CONFIRMATION:
        return Answer(200, {"ok": True, "message": "Unsubscribe confirmation received."})
    if kind != SUBSCRIPTION_CONFIRMATION:
        return None
    url = payload.get("SubscribeURL")
    problem = subscribe_url_problem(url)
    if problem:
        return console_error(400, "invalid_payload", problem, field="SubscribeURL")
    topic = str(payload.get("TopicArn") or "")
    if push.source_id is not None:
        from integrations.sources.aws_cloudwatch.tasks import confirm_subscription

        source_id = push.source_id
        transaction.on_commit(
            lambda: confirm_subscription.delay(source_id, url.strip(), topic), robust=True
        )
    return Answer(
        202,
        {"ok": True, "message": f"Confirming the subscription to {topic} with Amazon SNS."},
    )
