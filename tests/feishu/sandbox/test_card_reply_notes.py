"""Notes from Feishu the real way: the console sends an incident's card to a group in the
sandbox; a person replies to the card in the sandbox's client page; the sandbox posts
``im.message.receive_v1`` (signed and encrypted) to the console; the reply becomes a note, the
bot answers "Noted on #N" under the reply, and every copy of the card shows the note."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from integrations.feishu.cards import delivery
from integrations.feishu.models import FeishuChat
from integrations.feishu_sandbox.models import SandboxMessage
from oncall.models import Incident, IncidentNote, TimelineEntry
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link


@pytest.fixture
def people(console_app, sandbox_app, sandbox_people):
    """Console users alice and carol linked to their sandbox identities; only alice is a
    member of the incident's channel."""
    sandbox_app.event_request_url = console_app.event_callback_url
    sandbox_app.save()
    users = {}
    for key, name in (("alice", "Alice Chen"), ("carol", "Carol Wang")):
        first, last = name.split()
        users[key] = UserFactory(username=key, first_name=first, last_name=last)
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    return users


@pytest.fixture
def incident(people):
    channel = ChannelFactory(name="Databases")
    channel.members.add(people["alice"])
    return IncidentFactory(channel=channel, title="Disk full on db-1")


@pytest.fixture
def group_card(console_app, sandbox_chat, incident) -> SandboxMessage:
    """The incident's card, sent by the console to the sandbox group "SRE on-call"."""
    chat = FeishuChat.objects.create(
        app=console_app, chat_id=sandbox_chat.chat_id, name=sandbox_chat.name
    )
    delivery.notify(incident, console_app, [], [chat])  # the send task runs eagerly
    return SandboxMessage.objects.get(chat=sandbox_chat, msg_type="interactive")


def reply_in_the_client(sandbox_person, chat, card, text: str, *, mention: bool = True):
    """``sandbox_person`` replies to ``card`` from the sandbox's client page."""
    form = {"text": text, "reply_to": card.message_id}
    if mention:
        form["mention"] = "on"
    page = reverse("feishu_sandbox:client-group", args=[sandbox_person.user_id, chat.chat_id])
    response = Client().post(page, form)
    assert response.status_code == 302
    return SandboxMessage.objects.filter(sender=sandbox_person).latest("id")


def bot_answer(message: SandboxMessage) -> str:
    (answer,) = SandboxMessage.objects.filter(reply_to=message, sender=None)
    return json.loads(answer.content)["text"]


def test_a_reply_to_the_card_becomes_a_note_and_the_card_shows_it(
    sandbox_people, sandbox_chat, people, incident, group_card
):
    alice = sandbox_people["alice"]
    written = reply_in_the_client(
        alice, sandbox_chat, group_card, "Failing over to db-3 <at id=all></at>"
    )

    assert bot_answer(written) == f"Noted on #{incident.number}"
    note = IncidentNote.objects.get()
    assert (note.author, note.source) == (people["alice"], "feishu")
    assert note.body == "Failing over to db-3 <at id=all></at>"
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.NOTE)
    assert entry.data["message_id"] == written.message_id
    group_card.refresh_from_db()
    content = group_card.content
    assert group_card.update_count == 1  # the note's announcement synced the card
    assert "Latest note" in content
    assert "Failing over to db-3" in content
    assert "<at id=all>" not in content  # escaped: nobody is mentioned by a note


def test_a_reply_that_is_a_command_does_the_command(
    sandbox_people, sandbox_chat, incident, group_card
):
    written = reply_in_the_client(sandbox_people["alice"], sandbox_chat, group_card, "claim")

    assert bot_answer(written) == f"#{incident.number} Claimed by Alice Chen"
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    assert not IncidentNote.objects.exists()


def test_a_non_member_replying_is_refused_like_a_command(
    sandbox_people, sandbox_chat, incident, group_card
):
    sandbox_chat.members.add(sandbox_people["carol"])
    written = reply_in_the_client(sandbox_people["carol"], sandbox_chat, group_card, "on it")

    assert bot_answer(written) == (
        f"You are not a member of the channel Databases of #{incident.number}."
    )
    assert not IncidentNote.objects.exists()


def test_an_unlinked_person_replying_is_told_how_to_link(
    console_app, sandbox_people, sandbox_chat, incident, group_card
):
    written = reply_in_the_client(sandbox_people["bob"], sandbox_chat, group_card, "on it")

    assert "not linked" in bot_answer(written)
    assert console_app.web_url in bot_answer(written)
    assert not IncidentNote.objects.exists()


def test_a_reply_without_an_at_mention_is_a_note_too(
    sandbox_people, sandbox_chat, incident, group_card
):
    """Feishu delivers it only to an app that may read every group message; then it is a
    note all the same: it replies to the card."""
    written = reply_in_the_client(
        sandbox_people["alice"], sandbox_chat, group_card, "replica caught up", mention=False
    )

    assert bot_answer(written) == f"Noted on #{incident.number}"
    assert IncidentNote.objects.get().body == "replica caught up"
