"""Chat commands the real way: a person writes to the bot in the sandbox, the sandbox posts
``im.message.receive_v1`` (signed and encrypted) to the console's callback URL, and the bot's
answer arrives in the sandbox as a reply to that message."""

from __future__ import annotations

import pytest

from integrations.feishu.models import CardDelivery, FeishuChat, LinkedAccount, SentCard
from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import SandboxMessage
from oncall.models import Incident, TimelineEntry
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.chat import reply_text, write


@pytest.fixture
def incident(console_app, sandbox_app, sandbox_people):
    """An incident of a channel of Alice, whose Feishu account is linked to the console."""
    sandbox_app.event_request_url = console_app.event_callback_url
    sandbox_app.save()
    alice = UserFactory(username="alice", first_name="Alice", last_name="Chen")
    open_id = sandbox_app.open_id_of(sandbox_people["alice"])
    LinkedAccount.objects.create(user=alice, app=console_app, open_id=open_id)
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice)
    return IncidentFactory(channel=channel, title="Disk full on db-1")


def test_a_direct_message_claims_and_the_bot_replies(sandbox_app, sandbox_people, incident):
    alice = sandbox_people["alice"]
    message = write(sandbox_app, alice, f"claim #{incident.number}", user=alice)

    assert reply_text(message) == f"#{incident.number} Claimed by Alice Chen"
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    entry = TimelineEntry.objects.get(incident=incident, kind="claimed")
    assert (entry.source, entry.data["message_id"]) == ("feishu", message.message_id)


def test_a_reply_to_the_card_in_a_group_snoozes_without_a_number(
    console_app, sandbox_app, sandbox_chat, sandbox_people, incident
):
    card = SandboxMessage.objects.create(
        app=sandbox_app, chat=sandbox_chat, msg_type="interactive", content="{}"
    )
    chat = FeishuChat.objects.create(app=console_app, chat_id=sandbox_chat.chat_id, name="SRE")
    row = CardDelivery.objects.create(incident=incident, app=console_app, chat=chat, sent=1)
    SentCard.objects.create(delivery=row, message_id=card.message_id)
    message = write(
        sandbox_app,
        sandbox_people["alice"],
        f"{send.MENTION_KEY} snooze 2h",
        chat=sandbox_chat,
        reply_to=card,
    )

    assert reply_text(message) == f"#{incident.number} Snoozed by Alice Chen for 2 h"
    incident.refresh_from_db()
    assert incident.snoozed_until is not None


def test_an_unlinked_person_is_answered_how_to_link(sandbox_app, sandbox_people, incident):
    bob = sandbox_people["bob"]
    message = write(sandbox_app, bob, f"close {incident.number}", user=bob)

    assert "not linked" in reply_text(message)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.TRIGGERED
