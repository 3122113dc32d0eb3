"""A reply to an incident's card becomes a note on the incident.

In a direct chat or a group, a person replies to a card the console sent (Feishu's "reply" on
the message; in a group, with an @mention of the bot, or without one when the app may read
every group message). Unless the reply is a command (``chat_commands.answer`` decides), its
text becomes a note through ``oncall.lifecycle.add_note``, written by the sender's linked
account, with source ``feishu`` and the message's id: a message handled twice (a retried task)
makes one note. The bot answers in a few words ("Noted on #12"), never repeating the note.

The refusals are the commands': an unlinked sender is told how to link, a sender who is not a
member of the incident's channel is told so (they have seen the card).
"""

from __future__ import annotations

import re

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext

from integrations.feishu.inbound.events import MENTION_KEY, IncomingMessage
from integrations.feishu.inbound.identity import feishu_actor, how_to_link, linked_user
from integrations.feishu.models import FeishuApp
from oncall import lifecycle
from oncall.models import Incident

# The mentions a reply starts with address the bot ("@_user_1 the disk is back").
_LEADING_MENTIONS = re.compile(rf"^\s*(?:{MENTION_KEY.pattern}\s*)+")


def note(app: FeishuApp, message: IncomingMessage, incident: Incident) -> str:
    """Make ``message`` (a reply to ``incident``'s card) a note; the bot's answer."""
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    actor = feishu_actor(user, app, message_id=message.message_id, via="card reply")
    try:
        lifecycle.add_note(incident, actor, note_text(message))
    except PermissionDenied:
        return gettext("You are not a member of the channel %(channel)s of #%(number)s.") % {
            "channel": incident.channel.name,
            "number": incident.number,
        }
    except lifecycle.LifecycleError as exc:  # empty, or too long
        return f"#{incident.number} {exc.message}"
    except Incident.DoesNotExist:  # deleted since the card was looked up
        return gettext("No incident #%(number)s that you can see.") % {"number": incident.number}
    return gettext("Noted on #%(number)s") % {"number": incident.number}


def note_text(message: IncomingMessage) -> str:
    """The reply's text as a note: without the mentions that address the bot, and with every
    other mention as the name Feishu showed ("@Alice Chen"), not its key."""
    text = _LEADING_MENTIONS.sub("", message.text)
    return MENTION_KEY.sub(lambda key: "@" + _mentioned_name(message, key[0]), text)


def _mentioned_name(message: IncomingMessage, key: str) -> str:
    return message.mentions.get(key, {}).get("name") or "?"
