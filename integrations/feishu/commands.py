"""Chat commands: what the bot answers to a direct message or an @mention in a group.

``COMMANDS`` maps a command word to ``(usage, description, "module.function")``; the function
takes the app and the ``IncomingMessage`` and returns the text to answer. ``help`` is built in,
and anything the bot does not understand is answered with the help text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import import_string

from integrations.feishu.models import FeishuApp

# command -> (usage, description, dotted path of the handler)
_CHAT = "integrations.feishu.chat_commands"
COMMANDS: dict[str, tuple[str, str, str]] = {
    "list": ("list", "the open incidents of your channels", f"{_CHAT}.list_open"),
    "claim": ("claim N", "claim incident #N", f"{_CHAT}.claim"),
    "unclaim": ("unclaim N", "give incident #N back", f"{_CHAT}.unclaim"),
    "snooze": ("snooze N 2h", "pause the escalation of #N (30m, 1h, 2h...)", f"{_CHAT}.snooze"),
    "wake": ("wake N", "end the snooze of #N", f"{_CHAT}.wake"),
    "close": ("close N", "close incident #N", f"{_CHAT}.close"),
    "reopen": ("reopen N", "reopen closed incident #N", f"{_CHAT}.reopen"),
}

# Feishu replaces each mention in a text message by a key such as "@_user_1".
MENTION_KEY = re.compile(r"@_user_\d+")


@dataclass(frozen=True)
class IncomingMessage:
    message_id: str
    chat_id: str
    chat_type: str  # "p2p" or "group"
    sender_open_id: str
    text: str
    # The message this one replies to (a card, for "reply to the card" commands).
    parent_id: str = ""

    @property
    def words(self) -> list[str]:
        return MENTION_KEY.sub(" ", self.text).split()


def answer(app: FeishuApp, message: IncomingMessage) -> str:
    words = message.words
    command = words[0].lower().lstrip("/") if words else "help"
    entry = COMMANDS.get(command)
    if entry is None:
        return help_text(app)
    handler: Callable[[FeishuApp, IncomingMessage], str] = import_string(entry[2])
    return handler(app, message)


def help_text(app: FeishuApp) -> str:
    lines = [
        f"I am the on-call bot of {app.name}. I send incident cards to the people and groups "
        "on call; use their buttons to claim, close or snooze an incident.",
        "",
        "Commands (in a direct message, or @mention me in a group):",
        "help: this text",
    ]
    lines += [f"{usage}: {description}" for usage, description, _ in COMMANDS.values()]
    lines += ["N is an incident's number; in a reply to an incident's card it may be left out."]
    lines += ["", f"Open the console: {app.web_url}"]
    return "\n".join(lines)
