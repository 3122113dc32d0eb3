"""The incident commands of the chat bot: ``list``, ``claim N``, ``unclaim N``, ``close N``,
``reopen N``, ``snooze N 2h`` and ``wake N`` (listed in ``chat_commands.COMMANDS``).

They follow the rules of the card buttons, answered as text: an unlinked sender is told how to
link; every change goes through ``oncall.lifecycle`` with a Feishu actor that names the message,
so the timeline records who acted, from where, and with which message. ``N`` may be written
``12`` or ``#12``; a reply to an incident's card may leave it out (``claim``, ``snooze 2h``).

An incident the sender cannot see is answered like one that does not exist, so that numbers do
not reveal other teams' incidents. Only a reply to a card (which the sender has seen) is told
that the sender is not a member of its channel.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.utils import timezone, translation

from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.inbound.identity import feishu_actor, how_to_link, linked_user
from integrations.feishu.models import FeishuApp, SentCard
from oncall import lifecycle
from oncall.durations import parse_duration, snooze_choices
from oncall.incident_list import IncidentFilterForm, incident_list
from oncall.models import Incident
from oncall.permissions import visible_incidents
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
        return "No open incidents in your channels."
    with translation.override(settings.LANGUAGE_CODE):
        lines = [_list_line(incident, now) for incident in shown]
    if (more := listed.counts["open"] - len(shown)) > 0:
        lines.append(f"and {more} more")
    return "\n".join(lines)


# --- one action, step by step ----------------------------------------------------------------


def _run(
    app: FeishuApp, message: IncomingMessage, act: Act, *, wants_duration: bool = False
) -> str:
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    try:
        number, duration = _arguments(message, wants_duration)
        incident = _incident(app, user, message, number)
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
        return f"Write “{command} N” with the incident's number, or reply “{command}” to its card."
    choices = ", ".join(value for value, _label in snooze_choices())
    return (
        f"Write “{command} N 2h” with the incident's number and a duration ({choices}), "
        f"or reply “{command} 2h” to its card."
    )


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise _Answer(str(exc)) from None


def _incident(app: FeishuApp, user: Any, message: IncomingMessage, number: int | None) -> Incident:
    if number is not None:
        incident = visible_incidents(user).filter(number=number).select_related("channel").first()
        if incident is None:
            raise _Answer(_not_found(number))
        return incident
    incident = incident_of_reply(app, message)
    if incident is None:
        command = message.words[0].lower().lstrip("/")
        raise _Answer(_usage(command, command == "snooze"))
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
        return f"You are not a member of the channel {incident.channel.name} of #{incident.number}."
    except lifecycle.LifecycleError as exc:
        return f"#{incident.number} {exc.message}"
    except Incident.DoesNotExist:  # deleted since it was looked up
        return _not_found(incident.number)
    return f"#{incident.number} {outcome.message}"


def _not_found(number: int) -> str:
    return f"No incident #{number} that you can see."


# --- the list --------------------------------------------------------------------------------


def _list_line(incident: Incident, now: datetime) -> str:
    title = " ".join(incident.title.split())
    if len(title) > MAX_LIST_TITLE_CHARS:
        title = title[: MAX_LIST_TITLE_CHARS - 1] + "…"
    return f"#{incident.number} [{incident.severity}] {title} — {status_line(incident, now)}"
