"""Schedules as escalation targets, end to end against the sandbox on a live server: an alert
becomes an incident whose level names a schedule, and the card reaches whoever is on call at
that moment (the override's person when there is one, the next person when nobody is), with
the timeline saying which schedule reached them."""

from __future__ import annotations

from datetime import time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.feishu_sandbox.models import SandboxMessage
from oncall.models import EscalationLevel, Incident, ScheduleOverride, TimelineEntry
from tests import payloads
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    EscalationRuleFactory,
    ScheduleFactory,
    ScheduleLayerFactory,
    UserFactory,
)
from tests.feishu.sandbox.world import link
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ZONE = "Europe/Berlin"


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, live_server):
    users = {}
    for key in ("alice", "bob", "carol", "dave"):
        users[key] = UserFactory(username=key, first_name=key.title())
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    channel = ChannelFactory(name="Databases")
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="Databases on-call", feishu_app=console_app)
    schedule = ScheduleFactory(name="SRE primary", time_zone=ZONE)
    level = EscalationLevel.objects.create(rule=rule, position=1, escalate_after_minutes=5)
    level.schedules.add(schedule)
    source = AlertSourceFactory(channel=channel, kind="alertmanager")
    return {
        "users": users,
        "people": sandbox_people,
        "schedule": schedule,
        "level": level,
        "source": source,
    }


def local_today():
    return timezone.now().astimezone(ZoneInfo(ZONE)).date()


def daily_turns(schedule, people, *, starting):
    """A daily rotation handing off at local midnight, its first turn on ``starting``."""
    return ScheduleLayerFactory(
        schedule=schedule,
        people=people,
        start_date=starting,
        handoff_time=time(0),
        rotation_unit="days",
    )


def push_alert(client, source) -> Incident:
    body = payloads.alertmanager(payloads.am_alert("ReplicationLag"))
    response = client.post(f"/push/{source.token}", data=body, content_type="application/json")
    assert response.status_code == 200
    return wait_for(lambda: Incident.objects.filter(channel=source.channel).first(), "an incident")


def cards() -> dict[str, int]:
    """Cards received, by sandbox person's name."""
    received: dict[str, int] = {}
    for message in SandboxMessage.objects.filter(msg_type="interactive").select_related("user"):
        received[message.user.name] = received.get(message.user.name, 0) + 1
    return received


def notified_line(incident: Incident) -> str:
    return incident.timeline.get(kind=TimelineEntry.Kind.NOTIFIED).message


def test_the_card_reaches_whoever_is_on_call_at_that_moment(client, world):
    users = world["users"]
    # Yesterday was Alice's turn, today is Bob's, tomorrow Alice's again.
    daily_turns(
        world["schedule"],
        [users["alice"], users["bob"]],
        starting=local_today() - timedelta(days=1),
    )

    incident = push_alert(client, world["source"])

    wait_for(lambda: cards() == {"Bob Li": 1}, "the card to Bob only")
    assert notified_line(incident) == "Level 1: notified Bob (on call: SRE primary)."
    # Feishu reports whom it reached by id too: insights count Bob's notification.
    entry = incident.timeline.get(kind=TimelineEntry.Kind.NOTIFIED)
    assert entry.data["notified_users"] == [users["bob"].pk]


def test_an_override_wins_and_its_person_is_notified(client, world):
    users = world["users"]
    daily_turns(world["schedule"], [users["alice"], users["bob"]], starting=local_today())
    now = timezone.now()
    ScheduleOverride.objects.create(
        schedule=world["schedule"],
        user=users["carol"],
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=1),
    )

    incident = push_alert(client, world["source"])

    wait_for(lambda: cards() == {"Carol Wang": 1}, "the card to Carol only")
    assert notified_line(incident) == "Level 1: notified Carol (on call: SRE primary)."


def test_nobody_on_call_reaches_the_next_person_named_as_such(client, world):
    users = world["users"]
    tomorrow = local_today() + timedelta(days=1)
    daily_turns(world["schedule"], [users["dave"]], starting=tomorrow)

    incident = push_alert(client, world["source"])

    wait_for(lambda: cards() == {"Dave Zhang": 1}, "the card to Dave, the next on call")
    assert notified_line(incident) == (
        f"Level 1: notified Dave (next on call: SRE primary, from {tomorrow:%a} 00:00)."
    )


def test_a_schedule_with_nobody_at_all_is_reported_unreachable_and_the_others_still_go(
    client, world
):
    users = world["users"]
    empty = ScheduleFactory(name="DB secondary", time_zone=ZONE)
    level = world["level"]
    level.schedules.add(empty)
    level.users.add(users["carol"])
    daily_turns(world["schedule"], [users["carol"]], starting=local_today() - timedelta(days=3))

    incident = push_alert(client, world["source"])

    wait_for(lambda: cards() == {"Carol Wang": 1}, "one card to Carol, named and on call")
    assert notified_line(incident) == (
        "Level 1: notified Carol (on call: SRE primary); not reachable: DB secondary "
        "(schedule: nobody on call now or in the next 14 days)."
    )
