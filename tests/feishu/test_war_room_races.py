"""War rooms under real concurrency (PostgreSQL): two people asking for an incident's room at
the same moment get one row and one opening task (so one chat), and both learn of that room."""

from __future__ import annotations

import pytest
from django.db import connection

from integrations.feishu import tasks, war_rooms
from integrations.feishu.models import WarRoom
from oncall.models import ActionSource, TimelineEntry
from oncall.timeline import Actor
from tests.concurrency import race
from tests.factories import ChannelFactory, FeishuAppFactory, IncidentFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROUNDS = 5


def test_two_simultaneous_requests_make_one_room_and_one_opening(monkeypatch):
    assert connection.vendor == "postgresql"
    opened: list[int] = []
    monkeypatch.setattr(tasks.open_war_room, "delay", opened.append)  # the queue, not a worker
    app = FeishuAppFactory(war_room_enabled=True)
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    channel = ChannelFactory()
    channel.members.add(alice, bob)
    for _ in range(ROUNDS):
        incident = IncidentFactory(channel=channel, severity="critical")
        results = race(
            lambda i=incident: war_rooms.request(i, app, Actor(alice, ActionSource.WEB)),
            lambda i=incident: war_rooms.request(i, app, Actor(bob, ActionSource.API), [alice]),
        )
        assert all(isinstance(r, WarRoom) for r in results), results
        assert results[0].pk == results[1].pk
        room = WarRoom.objects.get(incident=incident)
        assert opened.count(room.pk) == 1
        asked = incident.timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM).count()
        assert asked == 1
