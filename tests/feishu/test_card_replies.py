"""A reply to an incident's card becomes a note (``integrations.feishu.inbound.card_replies``),
through ``chat_commands.answer`` as the message task calls it; the card shows the latest note,
escaped, and a note makes the stored card stale."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest

from integrations.feishu import tasks
from integrations.feishu.cards import render_cache
from integrations.feishu.cards.delivery import _incident_loader
from integrations.feishu.cards.render import incident_card
from integrations.feishu.client.open_api import FeishuClient
from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage, incoming_message
from integrations.feishu.inbound.identity import how_to_link
from integrations.feishu.models import CardDelivery, LinkedAccount, SentCard
from oncall import lifecycle
from oncall.models import ActionSource, Incident, IncidentNote, TimelineEntry
from oncall.notes import MAX_NOTE_CHARS
from oncall.timeline import Actor
from tests.factories import (
    ChannelFactory,
    FeishuAppFactory,
    FeishuChatFactory,
    IncidentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Status = Incident.Status
_ids = count(1)


@pytest.fixture
def app():
    return FeishuAppFactory(name="Ops")


@pytest.fixture
def alice(app):
    user = UserFactory(username="alice", first_name="Alice", last_name="Chen")
    LinkedAccount.objects.create(user=user, app=app, open_id="ou_alice")
    return user


@pytest.fixture
def channel(alice):
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice)
    return channel


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel, title="Disk full on db-1")


@pytest.fixture
def card(app, incident):
    """The incident's card in a group chat, as the message ``om_card``."""
    row = CardDelivery.objects.create(
        incident=incident, app=app, chat=FeishuChatFactory(app=app), sent=1
    )
    at = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    SentCard.objects.create(delivery=row, message_id="om_card", sent_at=at, updated_at=at)
    return row


def reply(app, text, *, sender="ou_alice", parent_id="om_card", root_id="", **more) -> str | None:
    message = IncomingMessage(
        message_id=more.pop("message_id", f"om_reply{next(_ids)}"),
        chat_id="oc_chat",
        chat_type=more.pop("chat_type", "group"),
        sender_open_id=sender,
        text=text,
        parent_id=parent_id,
        root_id=root_id,
        **more,
    )
    return chat_commands.answer(app, message)


# --- a reply becomes a note ------------------------------------------------------------------


def test_a_reply_to_the_card_becomes_a_note_by_the_linked_person(app, alice, incident, card):
    answer = reply(app, "@_user_1 Failing over to db-3, **ETA 5 min**", message_id="om_r1")
    assert answer == f"Noted on #{incident.number}"
    note = IncidentNote.objects.get()
    assert (note.incident, note.author, note.source) == (incident, alice, "feishu")
    assert note.body == "Failing over to db-3, **ETA 5 min**"  # the bot's mention left out
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.NOTE)
    assert entry.note == note
    assert entry.data == {"app": str(app.public_id), "message_id": "om_r1", "via": "card reply"}


def test_a_reply_in_a_direct_chat_works_too(app, alice, incident, card):
    assert reply(app, "on it", chat_type="p2p") == f"Noted on #{incident.number}"
    assert IncidentNote.objects.get().body == "on it"


def test_a_reply_to_a_reply_to_the_card_is_a_note_on_its_incident(app, alice, incident, card):
    answer = reply(app, "@_user_1 replica is back", parent_id="om_someone", root_id="om_card")
    assert answer == f"Noted on #{incident.number}"


def test_other_mentions_keep_the_name_feishu_showed(app, alice, incident, card):
    mentions = {
        "@_user_1": {"open_id": "ou_bot", "name": "Ops bot"},
        "@_user_2": {"open_id": "ou_bob", "name": "Bob Li"},
    }
    reply(app, "@_user_1 handing over to @_user_2 now", mentions=mentions)
    assert IncidentNote.objects.get().body == "handing over to @Bob Li now"


def test_the_same_message_handled_twice_makes_one_note(app, alice, incident, card):
    assert reply(app, "once", message_id="om_same") == f"Noted on #{incident.number}"
    assert reply(app, "once", message_id="om_same") == f"Noted on #{incident.number}"
    assert IncidentNote.objects.count() == 1


def test_a_reply_that_is_a_command_still_does_the_command(app, alice, incident, card):
    assert reply(app, "@_user_1 claim") == f"#{incident.number} Claimed by Alice Chen"
    assert reply(app, "@_user_1 snooze 2h").startswith(f"#{incident.number} Snoozed")
    assert not IncidentNote.objects.exists()
    assert "Commands" in reply(app, "@_user_1 help")


def test_a_reply_that_starts_with_a_command_word_but_says_more_is_a_note(
    app, alice, incident, card
):
    answer = reply(app, "@_user_1 close to done, checking the replicas")
    assert answer == f"Noted on #{incident.number}"
    assert IncidentNote.objects.get().body == "close to done, checking the replicas"
    assert Incident.objects.get(pk=incident.pk).status == Status.TRIGGERED


def test_text_outside_a_card_reply_is_still_answered_with_help(app, alice, incident):
    assert "Commands" in reply(app, "the disk is back", parent_id="", chat_type="p2p")
    assert not IncidentNote.objects.exists()


def test_an_unlinked_person_gets_the_commands_refusal(app, incident, card):
    assert reply(app, "@_user_1 on it", sender="ou_stranger") == how_to_link(app)
    assert not IncidentNote.objects.exists()


def test_a_non_member_gets_the_commands_refusal(app, incident, card):
    carol = UserFactory(username="carol")
    LinkedAccount.objects.create(user=carol, app=app, open_id="ou_carol")
    answer = reply(app, "@_user_1 on it", sender="ou_carol")
    assert answer == f"You are not a member of the channel Databases of #{incident.number}."
    assert not IncidentNote.objects.exists()
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.NOTE).exists()


def test_a_note_over_the_limit_is_refused_with_the_reason(app, alice, incident, card):
    answer = reply(app, "x" * (MAX_NOTE_CHARS + 1))
    assert answer == (
        f"#{incident.number} A note is at most 10,000 characters long; this one has 10,001."
    )
    assert not IncidentNote.objects.exists()


def test_an_unmentioned_group_reply_to_the_card_is_a_note(app, alice, incident, card):
    assert reply(app, "on it", addressed=False) == f"Noted on #{incident.number}"


def test_an_unmentioned_group_reply_to_something_else_gets_no_answer(app, alice, incident, card):
    assert reply(app, "lunch?", parent_id="om_other", addressed=False) is None
    assert reply(app, "claim", parent_id="om_other", addressed=False) is None
    assert reply(app, "", addressed=False) is None
    assert not IncidentNote.objects.exists()


def test_the_message_task_stays_silent_when_the_message_is_not_for_the_bot(
    app, alice, card, monkeypatch
):
    replies = []
    monkeypatch.setattr(FeishuClient, "reply_text", lambda self, *a, **k: replies.append(a))
    unaddressed = IncomingMessage(
        "om_x", "oc_chat", "group", "ou_alice", "lunch?", "om_other", addressed=False
    )
    tasks.answer_message(app.pk, unaddressed.__dict__)
    assert replies == []
    note = IncomingMessage("om_y", "oc_chat", "group", "ou_alice", "on it", "om_card")
    tasks.answer_message(app.pk, note.__dict__)
    assert replies == [("om_y", f"Noted on #{card.incident.number}")]


# --- the event ---------------------------------------------------------------------------------


def receive_event(message: dict) -> dict:
    body = {
        "message_id": "om_1",
        "chat_id": "oc_1",
        "chat_type": "group",
        "message_type": "text",
        "content": json.dumps({"text": "on it"}),
        **message,
    }
    return {
        "sender": {"sender_id": {"open_id": "ou_alice"}, "sender_type": "user"},
        "message": body,
    }


def test_an_unmentioned_group_reply_reaches_the_task_as_not_addressed():
    message = incoming_message(receive_event({"parent_id": "om_card", "root_id": "om_card"}))
    assert message is not None
    assert (message.parent_id, message.root_id, message.addressed) == ("om_card", "om_card", False)


def test_an_unmentioned_group_message_replying_to_nothing_is_not_for_the_bot():
    assert incoming_message(receive_event({})) is None


def test_the_event_keeps_the_mentions_names():
    mentions = [{"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "Ops bot"}]
    message = incoming_message(receive_event({"mentions": mentions}))
    assert (message.mentions, message.addressed) == (
        {"@_user_1": {"open_id": "ou_bot", "name": "Ops bot"}},
        True,
    )


# --- the card ----------------------------------------------------------------------------------


def card_text(card: dict) -> str:
    return json.dumps(card, ensure_ascii=False)


def test_the_card_shows_the_latest_note_and_the_count(incident, alice):
    web = Actor(alice, ActionSource.WEB)
    lifecycle.add_note(incident, web, "first look")
    lifecycle.add_note(incident, web, "Failing over to db-3")
    (content,) = [
        e["text"]["content"]
        for e in incident_card(incident)["elements"]
        if "Latest" in e.get("text", {}).get("content", "")
    ]
    assert content.startswith("**Latest of 2 notes** · Alice Chen, ")
    assert content.endswith("\nFailing over to db-3")


def test_a_card_without_notes_shows_none(incident):
    assert "Latest" not in card_text(incident_card(incident))


def test_the_card_shows_a_hostile_note_inert(incident, alice):
    hostile = "<at id=all></at> [x](javascript:alert(1)) **bold** <font color=red>!</font>"
    lifecycle.add_note(incident, Actor(alice, ActionSource.WEB), hostile)
    text = card_text(incident_card(incident))
    assert "<at" not in text
    assert "&#60;at id=all&#62;&#60;/at&#62;" in text
    assert "[x](javascript" not in text
    assert "&#91;x&#93;(javascript:alert(1))" in text
    assert "<font" not in text
    assert "**bold**" not in text


def test_the_card_shows_the_first_lines_of_a_long_note(incident, alice):
    lifecycle.add_note(incident, Actor(alice, ActionSource.WEB), "\n".join("abcdefgh"))
    text = card_text(incident_card(incident))
    assert "a\\nb\\nc\\nd\\n…" in text
    assert "\\ne" not in text


def test_a_note_added_edited_or_deleted_makes_the_stored_card_stale(
    incident, alice, django_capture_on_commit_callbacks
):
    load = _incident_loader(incident.pk)
    web = Actor(alice, ActionSource.WEB)
    render_cache.changed(incident.pk)
    before = render_cache.current(incident.pk, load)
    with django_capture_on_commit_callbacks(execute=True):
        note = lifecycle.add_note(incident, web, "first").note
    added = render_cache.current(incident.pk, load)
    assert render_cache.changed_since(before)
    assert "first" in card_text(added.card)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.edit_note(note, web, "second")
    edited = render_cache.current(incident.pk, load)
    assert "second" in card_text(edited.card)
    with django_capture_on_commit_callbacks(execute=True):
        lifecycle.delete_note(note, web)
    deleted = render_cache.current(incident.pk, load)
    assert "second" not in card_text(deleted.card)
    assert len({before.fingerprint, added.fingerprint, edited.fingerprint}) == 3
    assert deleted.fingerprint == before.fingerprint


def test_a_note_on_an_old_card_of_another_incident_is_not_mixed_up(app, alice, channel, card):
    other = IncidentFactory(channel=channel)
    row = CardDelivery.objects.create(
        incident=other, app=app, chat=FeishuChatFactory(app=app), sent=1
    )
    at = datetime(2026, 1, 1, 10, 0, tzinfo=UTC) + timedelta(minutes=1)
    SentCard.objects.create(delivery=row, message_id="om_other_card", sent_at=at, updated_at=at)
    # The nearest card wins: the reply's parent, not the root of its thread.
    reply(app, "@_user_1 this one", parent_id="om_other_card", root_id="om_card")
    assert IncidentNote.objects.get().incident == other


def test_the_card_names_a_deleted_author_as_such(incident, alice):
    lifecycle.add_note(incident, Actor(alice, ActionSource.WEB), "written before leaving")
    alice.delete()
    text = card_text(incident_card(incident))
    assert "**Latest note** · a deleted user, " in text
    assert "written before leaving" in text
