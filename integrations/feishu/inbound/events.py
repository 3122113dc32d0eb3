"""What the console does with each Feishu event it subscribes to.

Chat membership changes are one small write, done while answering. A message to the bot is
answered through the Open API, which may be slow or rate limited, so it goes to a task.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from integrations.feishu import chats
from integrations.feishu.models import FeishuApp, FeishuChat
from oncall import jsonbody

logger = logging.getLogger(__name__)

Status = FeishuChat.Status

# Feishu replaces each mention in a text message by a key such as "@_user_1".
MENTION_KEY = re.compile(r"@_user_\d+")


@dataclass(frozen=True)
class IncomingMessage:
    """A text message to the bot, as the chat commands read it (``chat_commands.answer``)."""

    message_id: str
    chat_id: str
    chat_type: str  # "p2p" or "group"
    sender_open_id: str
    text: str
    # The message this one replies to (a card, for "reply to the card" commands and notes),
    # and the first message of its thread (the card, when this replies to a reply to it).
    parent_id: str = ""
    root_id: str = ""
    # Each mention's key in ``text`` -> {"open_id", "name"} of whom it mentions (the bot, in a
    # group, and the people a command names: ``assign 12 @Bob``). Plain JSON: the message
    # travels to the answering task as a dict.
    mentions: dict[str, dict[str, str]] = field(default_factory=dict)
    # False for a group message that mentions nobody: it reaches the console only when the app
    # may read every group message, and is for the bot only if it replies to a card.
    addressed: bool = True

    @property
    def words(self) -> list[str]:
        return MENTION_KEY.sub(" ", self.text).split()

    @property
    def mentioned_after_command(self) -> list[dict[str, str]]:
        """The mentions written after the command word, in order: the people a command names.
        Those before it (``@bot assign ...`` in a group) address the bot."""
        command = re.search(r"(?:^|\s)(?!@_user_\d)\S", self.text)
        rest = self.text[command.end() :] if command else ""
        return [self.mentions[key] for key in MENTION_KEY.findall(rest) if key in self.mentions]

    @property
    def replied_to(self) -> list[str]:
        """The messages this one replies to, the nearest first."""
        return [m for m in (self.parent_id, self.root_id) if m]


def handle(app: FeishuApp, event_type: str, event: dict) -> bool:
    """Act on one event; False when the console does not handle this type."""
    handler = HANDLERS.get(event_type)
    if handler is None:
        return False
    handler(app, event)
    return True


def _chat_id(event: dict) -> str:
    # Schema 2.0 events say chat_id; the schema 1.0 ones say open_chat_id.
    chat_id = event.get("chat_id") or event.get("open_chat_id")
    if not isinstance(chat_id, str) or not chat_id:
        raise ValueError("the event has no chat_id")
    return chat_id


def _chat_name(event: dict) -> str:
    name = event.get("name") or event.get("chat_name") or ""
    return name if isinstance(name, str) else ""


def bot_added(app: FeishuApp, event: dict) -> None:
    chats.record_bot_added(app, _chat_id(event), _chat_name(event))


def bot_removed(app: FeishuApp, event: dict) -> None:
    chats.record_gone(app, _chat_id(event), Status.BOT_REMOVED, _chat_name(event))


def chat_disbanded(app: FeishuApp, event: dict) -> None:
    chats.record_gone(app, _chat_id(event), Status.DISBANDED, _chat_name(event))


def message_received(app: FeishuApp, event: dict) -> None:
    message = incoming_message(event)
    if message is None:
        return
    from integrations.feishu.tasks import answer_message

    args = (app.pk, message.__dict__)
    transaction.on_commit(lambda: answer_message.delay(*args))


def incoming_message(event: dict) -> IncomingMessage | None:
    """The text message that may be for the bot, or None: group messages that mention
    nobody and reply to nothing (an app allowed to read every group message gets those too)
    are not. One that mentions nobody but replies to something may reply to an incident's
    card (a note): ``addressed`` is False, and the command task decides."""
    message = event.get("message")
    sender = event.get("sender")
    if not isinstance(message, dict) or not isinstance(sender, dict):
        raise ValueError("im.message.receive_v1 needs message and sender objects")
    if sender.get("sender_type") not in (None, "user"):
        return None  # another bot, or the system
    chat_type = message.get("chat_type")
    parent_id, root_id = _str(message, "parent_id"), _str(message, "root_id")
    addressed = chat_type != "group" or bool(message.get("mentions"))
    if not addressed and not (parent_id or root_id):
        return None
    message_id = _str(message, "message_id")
    if not message_id:
        raise ValueError("the message has no message_id")
    # An image or a file gets the help text, like a command the bot does not know.
    is_text = message.get("message_type") == "text"
    return IncomingMessage(
        message_id=message_id,
        chat_id=_str(message, "chat_id"),
        chat_type=str(chat_type),
        sender_open_id=_sender(sender),
        text=_text_content(message.get("content")) if is_text else "",
        parent_id=parent_id,
        root_id=root_id,
        mentions=_mentions(message.get("mentions")),
        addressed=addressed,
    )


def _mentions(mentions: object) -> dict[str, dict[str, str]]:
    """``mentions[]``: ``{"key": "@_user_1", "id": {"open_id", ...}, "name", ...}`` each."""
    found: dict[str, dict[str, str]] = {}
    for mention in mentions if isinstance(mentions, list) else []:
        if not isinstance(mention, dict):
            continue
        key, ids = _str(mention, "key"), mention.get("id")
        open_id = _str(ids, "open_id") if isinstance(ids, dict) else ""
        if MENTION_KEY.fullmatch(key) and open_id:
            found[key] = {"open_id": open_id, "name": _str(mention, "name")}
    return found


def _str(parent: dict, key: str) -> str:
    value = parent.get(key)
    return value if isinstance(value, str) else ""


def _sender(sender: dict) -> str:
    ids = sender.get("sender_id")
    return _str(ids, "open_id") if isinstance(ids, dict) else ""


def _text_content(content: object) -> str:
    """``content`` is a JSON string such as ``"{\\"text\\":\\"@_user_1 help\\"}"``."""
    try:
        # The edge's reader: this JSON inside the JSON may be as deep or as odd as the body.
        parsed = jsonbody.decode(content).value if isinstance(content, str) else None
    except jsonbody.InvalidJSON:
        return ""
    text = parsed.get("text") if isinstance(parsed, dict) else None
    return text if isinstance(text, str) else ""


HANDLERS: dict[str, Callable[[FeishuApp, dict], None]] = {
    "im.chat.member.bot.added_v1": bot_added,
    "im.chat.member.bot.deleted_v1": bot_removed,
    "im.chat.disbanded_v1": chat_disbanded,
    "im.message.receive_v1": message_received,
    # Schema 1.0 names of the same events, for apps still subscribed to them.
    "add_bot": bot_added,
    "remove_bot": bot_removed,
    "chat_disband": chat_disbanded,
}
