"""The war-room machinery both platforms share (``integrations.chatkit.war_rooms``), where the
platforms' own tests do not pin it: DingTalk's sweep of rooms stuck opening, a room refused
before any call (``RoomRefused``), and the read-only admin lists of both platforms."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.dingtalk import tasks as dingtalk_tasks
from integrations.dingtalk import war_rooms as dingtalk_war_rooms
from integrations.dingtalk.models import DingTalkWarRoom
from integrations.feishu.models import WarRoom
from oncall.models import TimelineEntry
from oncall.timeline import Actor
from tests.dingtalk.factories import DingTalkAppFactory, DingTalkGroupFactory
from tests.factories import FeishuAppFactory, FeishuChatFactory, IncidentFactory

State = DingTalkWarRoom.State


@pytest.fixture
def dingtalk_app(db):
    return DingTalkAppFactory(war_room_template_id="tpl-1", war_room_bot_id="bot-1")


def a_room(app, *, state=State.OPENING, minutes_ago: int = 0, **fields) -> DingTalkWarRoom:
    room = DingTalkWarRoom.objects.create(
        incident=IncidentFactory(), app=app, state=state, **fields
    )
    DingTalkWarRoom.objects.filter(pk=room.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return room


def test_it_hands_out_again_a_dingtalk_room_stuck_opening_once(dingtalk_app, monkeypatch):
    handed: list[int] = []
    monkeypatch.setattr(dingtalk_tasks.open_war_room, "delay", handed.append)  # the queue
    stuck = a_room(dingtalk_app, minutes_ago=5)
    a_room(dingtalk_app, minutes_ago=0)  # its task may still be running
    a_room(dingtalk_app, state=State.OPEN, minutes_ago=5)
    a_room(dingtalk_app, state=State.FAILED, minutes_ago=5)

    assert dingtalk_war_rooms.hand_out_stalled() == 1
    assert handed == [stuck.pk]
    assert dingtalk_war_rooms.hand_out_stalled() == 0  # handed out just now: left a while


def test_it_records_a_room_refused_before_any_call_as_failed_with_why(dingtalk_app):
    room = a_room(dingtalk_app)
    dingtalk_app.war_room_template_id = ""  # the template was removed after the room was asked
    dingtalk_app.save()

    dingtalk_war_rooms.open_room(room.pk)  # no client call: nothing reaches the network

    room.refresh_from_db()
    assert room.state == State.FAILED
    assert room.last_error == f"The DingTalk app {dingtalk_app} has no group template any more."
    entry = TimelineEntry.objects.get(incident=room.incident, kind=TimelineEntry.Kind.WAR_ROOM)
    assert "no group template any more" in entry.text


def test_a_failed_room_can_be_asked_for_again_with_a_new_attempt(dingtalk_app, monkeypatch):
    monkeypatch.setattr(dingtalk_tasks.open_war_room, "delay", lambda pk: None)
    room = a_room(dingtalk_app, state=State.FAILED, last_error="refused")

    again = dingtalk_war_rooms.request(room.incident, dingtalk_app, Actor.system())

    assert again.pk == room.pk
    assert (again.state, again.attempt, again.last_error) == (State.OPENING, 2, "")
    assert again.create_uuid == f"oncall-war-room-{room.pk}-2"  # a new group may be made


def test_the_admin_lists_both_platforms_rooms_read_only_with_their_state(
    admin_client, dingtalk_app
):
    group = DingTalkGroupFactory(app=dingtalk_app, name="#1 Disk full")
    a_room(dingtalk_app, state=State.OPEN, group=group, name=group.name)
    a_room(dingtalk_app, state=State.FAILED, last_error="refused")
    feishu = FeishuAppFactory()
    chat = FeishuChatFactory(app=feishu, name="#2 Replication lag")
    WarRoom.objects.create(
        incident=IncidentFactory(), app=feishu, state=State.OPEN, chat=chat, name=chat.name
    )

    dingtalk_page = admin_client.get(reverse("admin:dingtalk_dingtalkwarroom_changelist"))
    feishu_page = admin_client.get(reverse("admin:integrations_warroom_changelist"))

    assert '<span class="check-ok">open</span>' in dingtalk_page.content.decode()
    assert '<span class="check-failed">failed</span>' in dingtalk_page.content.decode()
    assert '<span class="check-ok">open</span>' in feishu_page.content.decode()
    for name in ("dingtalk_dingtalkwarroom_add", "integrations_warroom_add"):
        assert admin_client.get(reverse(f"admin:{name}")).status_code == 403
