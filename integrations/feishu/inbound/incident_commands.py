"""The incident commands of the chat bot: ``list``, ``claim N``, ``unclaim N``, ``close N``,
``reopen N``, ``snooze N 2h``, ``wake N``, ``merge N into M`` (``合并 N 到 M``), ``new <title>``
and ``assign N @person``, listed in ``chat_commands.COMMANDS``.

They follow the rules of the card buttons, answered as text: an unlinked sender is told how to
link; every change goes through ``oncall.lifecycle`` with a Feishu actor that names the message,
so the timeline records who acted, from where, and with which message. ``N`` may be written
``12`` or ``#12``; a reply to an incident's card may leave it out (``claim``, ``snooze 2h``).

An incident the sender cannot see is answered like one that does not exist, so that numbers do
not reveal other teams' incidents. Only a reply to a card (which the sender has seen) is told
that the sender is not a member of its channel.

``new`` opens an incident by hand. Its channel: the one named as ``new #<channel> <title>``;
else the channel whose escalation notifies the group chat the command was written in; else the
sender's only channel; else the answer lists the sender's channels to choose from. A severity
may lead the title (``new critical <title>``); warning otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext

from integrations.feishu.cards.render import console_link
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.inbound.identity import feishu_actor, how_to_link, linked_user
from integrations.feishu.models import FeishuApp, SentCard
from oncall import lifecycle
from oncall.durations import parse_duration, snooze_choices
from oncall.events import Severity
from oncall.incident_list import IncidentFilterForm, incident_list
from oncall.models import Channel, Incident
from oncall.permissions import visible_channels, visible_incidents
from oncall.timeline import Actor
from oncall.wording import status_line

LIST_LIMIT = 10
MAX_LIST_TITLE_CHARS = 80
_NUMBER = re.compile(r"#?(\d+)")

# How one command changes the incident: (incident, actor, duration or None) -> Outcome.
Act = Callable[[Incident, Actor, timedelta | None], lifecycle.Outcome]


class _Answer(Exception):
    """Stops a command early with the text to answer."""


# --- the commands ----------------------------------------------------------------------------


def _simple(name: str) -> Callable[[FeishuApp, IncomingMessage], str]:
    """The command ``name`` of the lifecycle's argument-free actions (``lifecycle.BY_NAME``)."""
    call = lifecycle.BY_NAME[name]

    def command(app: FeishuApp, message: IncomingMessage) -> str:
        return _run(app, message, lambda incident, actor, _: call(incident, actor))

    command.__name__ = command.__qualname__ = name
    return command


claim = _simple("claim")
unclaim = _simple("unclaim")
close = _simple("close")
reopen = _simple("reopen")
wake = _simple("wake")


def snooze(app: FeishuApp, message: IncomingMessage) -> str:
    def act(incident: Incident, actor: Actor, duration: timedelta | None) -> lifecycle.Outcome:
        assert duration is not None  # _arguments insists on one for snooze
        return lifecycle.snooze(incident, actor, duration)

    return _run(app, message, act, wants_duration=True)


# "merge 3 4 into 5", "merge #3, #4 into #5", "合并 3 到 5", "合并 3到5"; in a reply to a card,
# "merge into 5". Numbers may be separated by ASCII or full-width commas (\uff0c, \u3001).
_MERGE = re.compile(
    r"(?P<sources>(?:#?\d+[\s,\uff0c\u3001]*)*)(?:\binto\b|到)\s*#?(?P<target>\d+)", re.IGNORECASE
)


def merge(app: FeishuApp, message: IncomingMessage) -> str:
    """``merge N into M``: move the alerts of #N (several numbers, or the card replied to)
    into #M; #N closes as merged into #M."""
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    command, *args = message.words
    match = _MERGE.fullmatch(" ".join(args).strip())
    if match is None:
        return _merge_usage(command)
    try:
        target = _incident(app, user, message, int(match["target"]))
        numbers = [int(n) for n in re.findall(r"\d+", match["sources"])]
        if numbers:
            sources = [_incident(app, user, message, number) for number in numbers]
        elif (replied := incident_of_reply(app, message)) is not None:
            sources = [replied]
        else:
            return _merge_usage(command)
    except _Answer as answer:
        return str(answer)
    actor = feishu_actor(user, app, message_id=message.message_id, via="chat command")
    try:
        return lifecycle.merge(target, sources, actor).message
    except PermissionDenied:
        return _not_a_member(target)
    except lifecycle.LifecycleError as exc:
        return exc.message
    except Incident.DoesNotExist:  # deleted since it was looked up
        return gettext("#%(number)s or one of the incidents to merge is gone.") % {
            "number": target.number
        }


def _merge_usage(command: str) -> str:
    word = command.lower().lstrip("/")
    into = "到" if word == "合并" else "into"
    return gettext(
        "Write “%(word)s N %(into)s M” to move the alerts of incident #N into #M (several N may "
        "be given), or reply “%(word)s %(into)s M” to the card of the incident to merge."
    ) % {"word": word, "into": into}


def list_open(app: FeishuApp, message: IncomingMessage) -> str:
    """The open incidents of the sender's channels, those needing someone first."""
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    now = timezone.now()
    # The web list's query and order (open, most urgent first), in the console's language.
    listed = incident_list(IncidentFilterForm({}, user), now)
    shown = list(listed.incidents[:LIST_LIMIT])
    if not shown:
        return gettext("No open incidents in your channels.")
    # In the card language, which ``chat_commands.answer`` made the active one.
    lines = [_list_line(incident, now) for incident in shown]
    if (more := listed.counts["open"] - len(shown)) > 0:
        lines.append(gettext("and %(count)s more") % {"count": more})
    return "\n".join(lines)


def new_incident(app: FeishuApp, message: IncomingMessage) -> str:
    """``new [#<channel>] [critical|warning|info] <title>``: open an incident by hand."""
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    command, *words = message.words
    channels = list(visible_channels(user).order_by("name"))
    try:
        severity, words = _leading_severity(words)
        channel, words = _chosen_channel(app, message, channels, command, words)
        severity, words = _leading_severity(words, severity)
    except _Answer as answer:
        return str(answer)
    if not words:
        return _new_usage(command)
    actor = feishu_actor(user, app, message_id=message.message_id, via="chat command")
    try:
        outcome = lifecycle.open_incident(
            channel, actor, title=" ".join(words), severity=severity or Severity.WARNING
        )
    except PermissionDenied:
        return gettext("You are not a member of the channel %(channel)s.") % {
            "channel": channel.name
        }
    except lifecycle.LifecycleError as exc:
        return exc.message
    incident = outcome.incident
    opened = gettext("#%(number)s opened in %(channel)s (%(severity)s): %(title)s") % {
        "number": incident.number,
        "channel": channel.name,
        "severity": incident.get_severity_display(),
        "title": incident.title,
    }
    return f"{opened}\n{console_link(incident, app)}"  # the link opens signed in, inside Feishu


def _leading_severity(words: list[str], found: str = "") -> tuple[str, list[str]]:
    """A severity written before the title (``new critical Disk full``), once."""
    if not found and words and words[0].lower() in Severity.values:
        return words[0].lower(), words[1:]
    return found, words


def _chosen_channel(
    app: FeishuApp,
    message: IncomingMessage,
    channels: list[Channel],
    command: str,
    words: list[str],
) -> tuple[Channel, list[str]]:
    """The channel to open the incident in, and the words left for the title."""
    if not channels:
        raise _Answer(
            "You are not a member of any channel: an administrator adds you to one in the console."
        )
    if words and words[0].startswith("#"):
        named = [words[0][1:], *words[1:]] if words[0] != "#" else words[1:]  # "# Name" too
        return _channel_named(channels, command, named)
    candidates = _channels_of_chat(app, message, channels) or channels
    if len(candidates) == 1:
        return candidates[0], words
    raise _Answer(_which_channel(command, candidates))


def _channel_named(
    channels: list[Channel], command: str, words: list[str]
) -> tuple[Channel, list[str]]:
    """The channel whose name the words start with, compared word by word and regardless of
    case (a name may have spaces: the longest that matches wins), and the words after it."""
    folded = [word.casefold() for word in words]
    for channel in sorted(channels, key=lambda c: len(c.name.split()), reverse=True):
        name = [word.casefold() for word in channel.name.split()]
        if name and folded[: len(name)] == name:
            return channel, words[len(name) :]
    raise _Answer(f"You have no channel named so. {_which_channel(command, channels)}")


def _channels_of_chat(
    app: FeishuApp, message: IncomingMessage, channels: list[Channel]
) -> list[Channel]:
    """The sender's channels whose enabled escalation rules notify this group chat."""
    if message.chat_type != "group" or not message.chat_id:
        return []
    targeted = set(
        Channel.objects.filter(
            escalation_rules__enabled=True,
            escalation_rules__levels__feishu_chats__app=app,
            escalation_rules__levels__feishu_chats__chat_id=message.chat_id,
        ).values_list("pk", flat=True)
    )
    return [channel for channel in channels if channel.pk in targeted]


def _which_channel(command: str, channels: list[Channel]) -> str:
    names = ", ".join(channel.name for channel in channels)
    return gettext(
        "Which channel? Write “%(command)s #<channel> <title>” with one of: %(names)s."
    ) % {
        "command": command,
        "names": names,
    }


def _new_usage(command: str) -> str:
    return gettext(
        "Write “%(command)s <title>” to open an incident; “%(command)s #<channel> <title>” to "
        "choose its channel, “%(command)s critical <title>” for its severity (warning otherwise)."
    ) % {"command": command}


def assign(app: FeishuApp, message: IncomingMessage) -> str:
    """``assign N @person``: hand incident #N to the person mentioned, who is notified now;
    ``assign N level 2`` (or ``L2``): to that level of the rule escalating it."""
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    command, *args = message.words
    command = command.lower().lstrip("/")
    number = None
    if args and (match := _NUMBER.fullmatch(args[0])):
        number, args = int(match[1]), args[1:]
    people = message.mentioned_after_command
    level = None if people else _level(args)
    names_one = (len(people) == 1 and not args) or level is not None
    if not names_one or (number is None and not message.parent_id):
        return (
            f"Write “{command} N @person” with the incident's number and one person, or "
            f"“{command} N level 2” for a level of its escalation rule; in a reply to its card, "
            "N may be left out."
        )
    try:
        incident = _incident(app, user, message, number)
    except _Answer as answer:
        return str(answer)
    actor = feishu_actor(user, app, message_id=message.message_id, via="chat command")
    if level is not None:
        return _apply(incident, actor, None, lambda i, a, _: lifecycle.assign_level(i, a, level))
    assignee = linked_user(app, people[0]["open_id"])
    if assignee is None:
        who = people[0]["name"] or "This person"
        return (
            f"{who} has no console account linked to this Feishu app: they should open "
            f"“{app.name}” once from the Feishu workplace ({app.web_url})."
        )
    return _apply(incident, actor, None, lambda i, a, _: lifecycle.assign_person(i, a, assignee))


_LEVEL = re.compile(r"(?:l|level|级别)(\d{1,3})", re.IGNORECASE)


def _level(args: list[str]) -> int | None:
    """``level 2``, ``L2`` or ``级别 2``: the level's number, or None."""
    match = _LEVEL.fullmatch("".join(args))
    return int(match[1]) if match else None


# --- one action, step by step ----------------------------------------------------------------


def _run(
    app: FeishuApp, message: IncomingMessage, act: Act, *, wants_duration: bool = False
) -> str:
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    try:
        number, duration = _arguments(message, wants_duration)
        incident = _incident(app, user, message, number, wants_duration=wants_duration)
        actor = feishu_actor(user, app, message_id=message.message_id, via="chat command")
        return _apply(incident, actor, duration, act)
    except _Answer as answer:
        return str(answer)


def _arguments(
    message: IncomingMessage, wants_duration: bool
) -> tuple[int | None, timedelta | None]:
    """The incident number (None: the card replied to says) and the snooze duration."""
    command, *args = message.words
    number = None
    if args and (match := _NUMBER.fullmatch(args[0])):
        number, args = int(match[1]), args[1:]
    if len(args) != (1 if wants_duration else 0):
        raise _Answer(_usage(command.lower().lstrip("/"), wants_duration))
    return number, (_duration(args[0]) if wants_duration else None)


def _usage(command: str, wants_duration: bool) -> str:
    if not wants_duration:
        return gettext(
            "Write “%(command)s N” with the incident's number, or reply “%(command)s” to its card."
        ) % {"command": command}
    choices = ", ".join(value for value, _label in snooze_choices())
    return gettext(
        "Write “%(command)s N 2h” with the incident's number and a duration (%(choices)s), "
        "or reply “%(command)s 2h” to its card."
    ) % {"command": command, "choices": choices}


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise _Answer(str(exc)) from None


def _incident(
    app: FeishuApp,
    user: Any,
    message: IncomingMessage,
    number: int | None,
    *,
    wants_duration: bool = False,
) -> Incident:
    if number is not None:
        incident = visible_incidents(user).filter(number=number).select_related("channel").first()
        if incident is None:
            raise _Answer(_not_found(number))
        return incident
    incident = incident_of_reply(app, message)
    if incident is None:
        raise _Answer(_usage(message.words[0].lower().lstrip("/"), wants_duration))
    return incident


def incident_of_reply(app: FeishuApp, message: IncomingMessage) -> Incident | None:
    """The incident whose card (any copy sent through ``app``) the message replies to: its
    parent, else the root of its thread (a reply to a reply to the card)."""
    replied_to = message.replied_to
    if not replied_to:
        return None
    sent = {
        card.message_id: card
        for card in SentCard.objects.filter(
            message_id__in=replied_to, delivery__app=app
        ).select_related("delivery__incident__channel")
    }
    nearest = next((sent[m] for m in replied_to if m in sent), None)
    return nearest.delivery.incident if nearest else None


def _apply(incident: Incident, actor: Actor, duration: timedelta | None, act: Act) -> str:
    try:
        outcome = act(incident, actor, duration)
    except PermissionDenied:
        return _not_a_member(incident)
    except lifecycle.LifecycleError as exc:
        return f"#{incident.number} {exc.message}"
    except Incident.DoesNotExist:  # deleted since it was looked up
        return _not_found(incident.number)
    return f"#{incident.number} {outcome.message}"


def _not_found(number: int) -> str:
    return gettext("No incident #%(number)s that you can see.") % {"number": number}


def _not_a_member(incident: Incident) -> str:
    return gettext("You are not a member of the channel %(channel)s of #%(number)s.") % {
        "channel": incident.channel.name,
        "number": incident.number,
    }


# --- the list --------------------------------------------------------------------------------


def _list_line(incident: Incident, now: datetime) -> str:
    title = " ".join(incident.title.split())
    if len(title) > MAX_LIST_TITLE_CHARS:
        title = title[: MAX_LIST_TITLE_CHARS - 1] + "…"
    return f"#{incident.number} [{incident.severity}] {title} — {status_line(incident, now)}"
