"""The bot's schedule command: ``oncall`` (or ``值班``) answers who is on call now and next in
the schedules that concern the sender (``oncall.schedules.summary``), one line each."""

from __future__ import annotations

from django.utils import timezone, translation

from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.inbound.identity import how_to_link, linked_user
from integrations.feishu.models import FeishuApp
from oncall.schedules import summary


def on_call(app: FeishuApp, message: IncomingMessage) -> str:
    user = linked_user(app, message.sender_open_id)
    if user is None:
        return how_to_link(app)
    # In the card language, which ``chat_commands.answer`` made the active one.
    return summary.answer_for(user, timezone.now(), translation.get_language())
