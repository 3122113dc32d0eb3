"""The shift swap commands of the chat bot: ``swaps`` (``换班``) lists the open requests the
sender may take, each with its number; ``take N`` (``接班 N``) takes request ``#N``.

Numbers are the requests' own (they stay the same while a request is open, whatever else is
asked or taken meanwhile), so ``take 12`` takes the request listed as ``#12`` or is refused with
the reason: someone was first, the requester cancelled it, its time is over. Taking goes
through ``oncall.schedules.swaps`` like the page and the API. Answers are in the card language,
as every chat command's (``chat_commands.answer`` sets it).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.inbound.identity import how_to_link, linked_user
from integrations.feishu.models import FeishuApp
from oncall.models import ShiftSwap
from oncall.permissions import visible_swaps
from oncall.schedules import swaps
from oncall.timeline import display_name

LIST_LIMIT = 10
_NUMBER = re.compile(r"#?(\d+)")


def list_takeable(app: FeishuApp, message: IncomingMessage) -> str:
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    found = list(swaps.takeable_by(user)[: LIST_LIMIT + 1])
    if not found:
        return _("No open shift swap requests that you can take.")
    lines = swaps.numbered(found[:LIST_LIMIT])
    if len(found) > LIST_LIMIT:
        lines.append(_("and more: see %(url)s") % {"url": app.web_url})
    lines.append(_("Write “take N” to take request #N."))
    return "\n".join(lines)


def take(app: FeishuApp, message: IncomingMessage) -> str:
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    command, *args = message.words
    match = _NUMBER.fullmatch(args[0]) if len(args) == 1 else None
    if match is None:
        return _("Write “%(command)s N” with a number from “swaps”.") % {
            "command": command.lower().lstrip("/")
        }
    number = int(match[1])
    # Requests the sender cannot see are answered like those that do not exist.
    swap = visible_swaps(user).filter(pk=number).first()
    if swap is None:
        return _not_found(number)
    try:
        taken = swaps.take(swap, user)
    except swaps.SwapRefused as refused:
        return f"#{number} {refused.message}"
    except ShiftSwap.DoesNotExist:  # deleted since it was looked up
        return _not_found(number)
    period = swaps.period_text(taken.swap.schedule, taken.override.start, taken.override.end)
    return _(
        "#%(number)s Taken: you are on call for %(schedule)s %(period)s instead of %(person)s."
    ) % {
        "number": number,
        "schedule": taken.swap.schedule.name,
        "period": period,
        "person": display_name(taken.swap.requester),
    }


def _not_found(number: int) -> str:
    # Requests the sender cannot see are answered like those that do not exist.
    return _("No shift swap request #%(number)s that you can see.") % {"number": number}
