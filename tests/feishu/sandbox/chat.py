"""A person writing to the bot in the sandbox, and the bot's answer: the sandbox posts
``im.message.receive_v1`` (signed and encrypted, with its mentions) to the console, and the
answer arrives in the sandbox as a reply to the message."""

from __future__ import annotations

import json

from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import SandboxApp, SandboxMessage, SandboxUser
from tests.workers import wait_for


def write(
    sandbox_app: SandboxApp,
    sender: SandboxUser,
    text: str,
    people: dict[str, SandboxUser] | None = None,
    **where,
) -> SandboxMessage:
    """``sender`` writes ``text`` (a direct message unless ``chat=`` is given), mentioning
    ``people`` (key -> person), and the sandbox delivers the event; returns the message."""
    message = SandboxMessage.objects.create(
        app=sandbox_app, sender=sender, msg_type="text", content=json.dumps({"text": text}), **where
    )
    event = send.message_received_event(sandbox_app, message, text, people)
    delivery = send.send_event(sandbox_app, event)
    assert delivery is not None
    assert delivery.status == 200, delivery.summary()
    return message


def reply_text(message: SandboxMessage) -> str:
    """The text of the bot's one reply to ``message`` (waited for: a worker may send it)."""
    replies = wait_for(
        lambda: list(SandboxMessage.objects.filter(reply_to=message)), "the bot's answer"
    )
    (reply,) = replies
    assert reply.sender is None  # the bot
    return json.loads(reply.content)["text"]
