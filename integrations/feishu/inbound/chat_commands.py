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

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from integrations.feishu.inbound import (
    card_replies,
    incident_commands,
    schedule_commands,
    swap_commands,
)
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.models import FeishuApp

Command = Callable[[FeishuApp, IncomingMessage], str]

# command -> (usage, description, handler). The usage is translated for the help text; how
# many words a command takes is counted on its English usage (``_arity``).
COMMANDS: dict[str, tuple[Promise | str, Promise | str, Command]] = {
    "list": (_("list"), _("the open incidents of your channels"), incident_commands.list_open),
    "claim": (_("claim N"), _("claim incident #N"), incident_commands.claim),
    "unclaim": (_("unclaim N"), _("give incident #N back"), incident_commands.unclaim),
    "snooze": (
        _("snooze N 2h"),
        _("pause the escalation of #N (30m, 1h, 2h...)"),
        incident_commands.snooze,
    ),
    "wake": (_("wake N"), _("end the snooze of #N"), incident_commands.wake),
    "close": (_("close N"), _("close incident #N"), incident_commands.close),
    "reopen": (_("reopen N"), _("reopen closed incident #N"), incident_commands.reopen),
    "merge": (
        _("merge N into M"),
        _("move the alerts of #N into #M; #N closes as merged"),
        incident_commands.merge,
    ),
    "合并": ("合并 N 到 M", "把 #N 的告警合并到 #M", incident_commands.merge),
    "new": (
        _("new <title>"),
        _(
            "open an incident (新建 <标题>); new #<channel> <title> chooses the channel, "
            "new critical <title> the severity"
        ),
        incident_commands.new_incident,
    ),
    "assign": (
        _("assign N @person"),
        _(
            "hand incident #N to a member of its channel, who is notified now (分派 N @某人); "
            "assign N level 2 hands it to a level of its escalation rule"
        ),
        incident_commands.assign,
    ),
    "oncall": (
        _("oncall (or 值班)"),
        _("who is on call now and next in your channels' schedules"),
        schedule_commands.on_call,
    ),
    "swaps": (
        _("swaps (or 换班)"),
        _("open shift swap requests you can take"),
        swap_commands.list_takeable,
    ),
    "take": (_("take N (or 接班 N)"), _("take shift swap request #N"), swap_commands.take),
}
# Other words for a command (Chinese): command word -> its name in ``COMMANDS`` (or "help"),
# shown with the command's own description.
ALIASES: dict[str, str] = {
    "帮助": "help",
    "列表": "list",
    "认领": "claim",
    "取消认领": "unclaim",
    # A snooze pauses the incident's notifications (暂缓 on the card and the pages).
    "暂缓": "snooze",
    "暂停": "snooze",
    "唤醒": "wake",
    "关闭": "close",
    "重新打开": "reopen",
    "重开": "reopen",
    "新建": "new",
    "分派": "assign",
    "值班": "oncall",
    "换班": "swaps",
    "接班": "take",
}


def answer(app: FeishuApp, message: IncomingMessage) -> str | None:
    """The bot's answer to ``message``, or None when it is not for the bot (a group message
    that mentions nobody and is neither a note nor a command replying to an incident's card).

    Answers are in the card language (``FeishuApp.language_for``) of the incident whose card
    the message replies to, else of the app: the chat reads them as it reads the cards."""
    replied = incident_commands.incident_of_reply(app, message) if message.replied_to else None
    with translation.override(app.language_for(replied)):
        return _answer(app, message)


def _answer(app: FeishuApp, message: IncomingMessage) -> str | None:
    words = message.words
    command = words[0].lower().lstrip("/") if words else "help"
    name = ALIASES.get(command, command)
    entry = COMMANDS.get(name)
    is_command = _is_command(words, entry, name)
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


def _is_command(words: list[str], entry: tuple | None, name: str) -> bool:
    """Whether the words are a command as written: its word and at most its usage's words
    ("snooze N 2h": three)."""
    if name == "help":
        return len(words) <= 1
    return entry is not None and len(words) <= _arity(entry[0])


def _arity(usage: Promise | str) -> int:
    with translation.override("en"):
        return len(str(usage).split())


def help_text(app: FeishuApp) -> str:
    lines = [
        gettext(
            "I am the on-call bot of %(app)s. I send incident cards to the people and groups "
            "on call; use their buttons to claim, close or snooze an incident."
        )
        % {"app": app.name},
        "",
        gettext("Commands (in a direct message, or @mention me in a group):"),
        gettext("help: this text"),
    ]
    lines += [f"{usage}: {description}" for usage, description, _ in COMMANDS.values()]
    lines += [
        gettext("N is an incident's number; in a reply to an incident's card it may be left out.")
    ]
    lines += [gettext("Any other reply to an incident's card becomes a note on the incident.")]
    lines += ["", gettext("Open the console: %(url)s") % {"url": app.web_url}]
    return "\n".join(lines)
