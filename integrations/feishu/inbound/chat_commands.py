"""Chat commands: what the bot answers to a direct message or an @mention in a group.

``COMMANDS`` maps a command word to ``(usage, description, handler)``; the handler takes the app
and the ``IncomingMessage`` and returns the text to answer (the incident commands are
``integrations.feishu.inbound.incident_commands``, ``oncall`` is ``schedule_commands``);
``ALIASES`` gives a command other words (``值班``). ``help`` is built in, and anything the bot
does not understand is answered with the help text.

A reply to an incident's card is a command only when it is one: a command word followed by no
more words than its usage shows ("close", "snooze 2h", "claim 12"). Any other text replying to
the card, "Close to done, checking replicas" included, becomes a note on the incident
(``card_replies``).
"""

from __future__ import annotations

from collections.abc import Callable

from integrations.feishu.inbound import (
    card_replies,
    incident_commands,
    schedule_commands,
    swap_commands,
)
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.models import FeishuApp

Command = Callable[[FeishuApp, IncomingMessage], str]

# command -> (usage, description, handler)
COMMANDS: dict[str, tuple[str, str, Command]] = {
    "list": ("list", "the open incidents of your channels", incident_commands.list_open),
    "claim": ("claim N", "claim incident #N", incident_commands.claim),
    "unclaim": ("unclaim N", "give incident #N back", incident_commands.unclaim),
    "snooze": (
        "snooze N 2h",
        "pause the escalation of #N (30m, 1h, 2h...)",
        incident_commands.snooze,
    ),
    "wake": ("wake N", "end the snooze of #N", incident_commands.wake),
    "close": ("close N", "close incident #N", incident_commands.close),
    "reopen": ("reopen N", "reopen closed incident #N", incident_commands.reopen),
    "merge": (
        "merge N into M",
        "move the alerts of #N into #M; #N closes as merged",
        incident_commands.merge,
    ),
    "合并": ("合并 N 到 M", "把 #N 的告警合并到 #M", incident_commands.merge),
    "new": (
        "new <title>",
        "open an incident (新建 <标题>); new #<channel> <title> chooses the channel, "
        "new critical <title> the severity",
        incident_commands.new_incident,
    ),
    "assign": (
        "assign N @person",
        "hand incident #N to a member of its channel, who is notified now (分派 N @某人); "
        "assign N level 2 hands it to a level of its escalation rule",
        incident_commands.assign,
    ),
    "oncall": (
        "oncall (or 值班)",
        "who is on call now and next in your channels' schedules",
        schedule_commands.on_call,
    ),
    "swaps": (
        "swaps (or 换班)",
        "open shift swap requests you can take",
        swap_commands.list_takeable,
    ),
    "take": ("take N (or 接班 N)", "take shift swap request #N", swap_commands.take),
}
# Other words for a command (Chinese): command word -> its name in ``COMMANDS``, shown with the
# command's own description.
ALIASES: dict[str, str] = {
    "新建": "new",
    "分派": "assign",
    "值班": "oncall",
    "换班": "swaps",
    "接班": "take",
}


def answer(app: FeishuApp, message: IncomingMessage) -> str | None:
    """The bot's answer to ``message``, or None when it is not for the bot (a group message
    that mentions nobody and is neither a note nor a command replying to an incident's card)."""
    words = message.words
    command = words[0].lower().lstrip("/") if words else "help"
    entry = COMMANDS.get(ALIASES.get(command, command))
    is_command = _is_command(words, entry, command)
    if words and not is_command:
        incident = incident_commands.incident_of_reply(app, message)
        if incident is not None:
            return card_replies.note(app, message, incident)
    if not message.addressed and not (
        words and is_command and incident_commands.incident_of_reply(app, message)
    ):
        return None
    if entry is None:
        return help_text(app)
    _usage, _description, handler = entry
    return handler(app, message)


def _is_command(words: list[str], entry: tuple | None, command: str) -> bool:
    """Whether the words are a command as written: its word and at most its usage's words
    ("snooze N 2h": three)."""
    if command == "help":
        return len(words) <= 1
    return entry is not None and len(words) <= len(entry[0].split())


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
    lines += ["Any other reply to an incident's card becomes a note on the incident."]
    lines += ["", f"Open the console: {app.web_url}"]
    return "\n".join(lines)
