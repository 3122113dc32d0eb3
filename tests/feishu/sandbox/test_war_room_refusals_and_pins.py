"""War rooms against the sandbox's faults (which answer as Feishu would): refusals said in plain
words, a failed room tried again with a new uuid, and a card pinned once whatever happens to the
pinning task (refused: recorded and left; lost: handed out again by the minute's sweep). Tasks run
as Celery runs them in tests (inline), through their public ``delay``."""

from __future__ import annotations

import gc
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.utils import timezone

from integrations.feishu import war_rooms
from integrations.feishu.client.open_api import pooled_session
from integrations.feishu.models import WarRoom
from integrations.feishu_sandbox.models import ApiCall, Fault, SandboxChat, SandboxMessage
from oncall import offers
from oncall.models import ActionSource, TimelineEntry
from oncall.timeline import Actor
from tests.factories import ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link

pytestmark = pytest.mark.django_db(transaction=True)

CHATS = "/open-apis/im/v1/chats"
PINS = "/open-apis/im/v1/pins"


@pytest.fixture
def alice(console_app, sandbox_app, sandbox_people):
    console_app.war_room_enabled = True
    console_app.save()
    user = UserFactory(username="alice", first_name="Alice")
    link(user, console_app, sandbox_app, sandbox_people["alice"])
    yield user
    gc.collect()  # see tests/feishu/sandbox/test_war_rooms.py: let the live server's threads go
    pooled_session().close()


@pytest.fixture
def incident(alice):
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice)
    return IncidentFactory(channel=channel, title="Replication lag", severity="critical")


def ask(incident, alice) -> offers.ActionResult:
    """Run the action; its opening task runs on commit. What the room came to."""
    offers.run_action(incident, "war_room", Actor(alice, ActionSource.API))
    return war_rooms.outcome(WarRoom.objects.get(incident=incident))


def refuse(path: str, code: int, remaining: int = 1, status: int = 400) -> None:
    Fault.objects.create(path_prefix=path, status=status, code=code, remaining=remaining)


REFUSALS = [
    (
        99991672,
        "The Feishu app lacks a permission for creating a group chat: request im:chat under "
        "Permissions in the Feishu developer console and publish a new version.",
    ),
    (
        232025,
        "The Feishu app's bot is not enabled: enable the Bot feature of the app in the Feishu "
        "developer console and publish a new version.",
    ),
    (
        232034,
        "The Feishu app is unavailable or disabled in its tenant: a Feishu administrator must "
        "enable it.",
    ),
]


@pytest.mark.parametrize(("code", "words"), REFUSALS)
def test_feishus_refusals_are_said_in_plain_words(incident, alice, code, words):
    refuse(CHATS, code)

    result = ask(incident, alice)

    assert (result.ok, result.message) == (False, words)
    room = WarRoom.objects.get(incident=incident)
    assert (room.state, room.last_error) == (WarRoom.State.FAILED, words)
    entries = incident.timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM).order_by("id")
    assert [e.message for e in entries] == [
        "War room requested by Alice.",
        f"War room not opened: {words}",
    ]
    assert not SandboxChat.objects.exists()


def test_a_failed_room_is_offered_again_and_tried_with_a_new_uuid(incident, alice):
    refuse(CHATS, 99991672)
    ask(incident, alice)
    assert [a.key for a in offers.incident_actions(incident)] == ["war_room"]
    first_uuid = WarRoom.objects.get(incident=incident).create_uuid

    result = ask(incident, alice)

    room = WarRoom.objects.select_related("chat").get(incident=incident)
    assert room.state == WarRoom.State.OPEN
    assert result.url == war_rooms.chat_link(room.app, room.chat.chat_id)
    assert room.create_uuid != first_uuid
    assert SandboxChat.objects.get().create_uuid == room.create_uuid
    assert list(room.invited_people.all()) == [alice]
    card = SandboxMessage.objects.get(chat__chat_id=room.chat.chat_id, msg_type="interactive")
    assert (room.pinned_message_id, card.pinned_at is not None) == (card.message_id, True)


def test_a_refused_pin_is_recorded_and_not_asked_again(incident, alice):
    refuse(PINS, 99991672)

    assert ask(incident, alice).ok

    room = WarRoom.objects.get(incident=incident)
    assert room.pinned_message_id == ""
    assert "99991672" in room.pin_error
    later = timezone.now() + timedelta(minutes=10)
    assert war_rooms.hand_out_stalled(later) == 0
    assert ApiCall.objects.filter(path=PINS).count() == 1


def test_a_pin_lost_with_its_task_is_handed_out_again_by_the_sweep(incident, alice):
    # Feishu fails the pin once: the task asks to be retried (inline Celery raises that), and
    # the retry never comes, as with a worker killed meanwhile.
    refuse(PINS, None, status=503)
    with pytest.raises(Retry):
        ask(incident, alice)
    room = WarRoom.objects.get(incident=incident)
    assert (room.state, room.pinned_message_id, room.pin_error) == (WarRoom.State.OPEN, "", "")
    assert war_rooms.hand_out_stalled() == 0  # a pin still being tried is left alone

    assert war_rooms.hand_out_stalled(timezone.now() + timedelta(minutes=10)) == 1

    room.refresh_from_db()
    card = SandboxMessage.objects.get(chat__chat_id=room.chat.chat_id, msg_type="interactive")
    assert room.pinned_message_id == card.message_id
    assert card.pinned_at is not None


def test_a_stalled_room_is_opened_by_the_sweep(incident, alice, console_app):
    room = WarRoom.objects.create(incident=incident, app=console_app, requested_by=alice)
    WarRoom.objects.filter(pk=room.pk).update(updated_at=timezone.now() - timedelta(minutes=5))

    assert war_rooms.hand_out_stalled() == 1

    room.refresh_from_db()
    assert room.state == WarRoom.State.OPEN
    assert SandboxChat.objects.get().create_uuid == room.create_uuid
    assert war_rooms.hand_out_stalled() == 0
