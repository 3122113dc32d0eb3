"""Chat commands: what the bot answers to a direct message or an @mention in a group.

``COMMANDS`` maps a command word to ``(usage, description, handler)``; the handler takes the app
and the ``IncomingMessage`` and returns the text to answer (the incident commands are
``integrations.feishu.inbound.incident_commands``, ``oncall`` is ``schedule_commands``);
``ALIASES`` gives a command other words (``值班``). ``help`` is built in, and anything the bot
does not understand is answered with the help text.
"""

from __future__ import annotations

from collections.abc import Callable

from integrations.feishu.inbound import incident_commands, schedule_commands, swap_commands
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
# Other words for a command: command word -> its name in ``COMMANDS``.
ALIASES = {"值班": "oncall", "换班": "swaps", "接班": "take"}


def answer(app: FeishuApp, message: IncomingMessage) -> str:
    words = message.words
    command = words[0].lower().lstrip("/") if words else "help"
    entry = COMMANDS.get(ALIASES.get(command, command))
    if entry is None:
        return help_text(app)
    _usage, _description, handler = entry
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
