"""A swap accepted from a chat command changes who is notified, end to end against the sandbox
on a live server: Alice asks to give away the rest of her turn (the others hear of it by direct
message), Bob writes "接班 N" to the bot, Alice hears that he took it, and the next incident's
card, from a level that names the schedule, goes to Bob, the timeline naming the schedule."""

from __future__ import annotations

import json
from datetime import time
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.feishu_sandbox.models import SandboxMessage
from oncall.models import EscalationLevel, Incident, ScheduleOverride, TimelineEntry
from oncall.schedules import resolve, swaps
from tests import payloads
from tests.factories import (
    AlertSourceFactory,
    ChannelFactory,
    EscalationRuleFactory,
    ScheduleFactory,
    ScheduleLayerFactory,
    UserFactory,
)
from tests.feishu.sandbox.chat import reply_text, write
from tests.feishu.sandbox.world import link
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)
ZONE = "Europe/Berlin"


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, live_server):
    sandbox_app.event_request_url = console_app.event_callback_url
    sandbox_app.save()
    users = {}
    for key in ("alice", "bob"):
        users[key] = UserFactory(username=key, first_name=key.title())
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    channel = ChannelFactory(name="Databases")
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="Databases on-call", feishu_app=console_app)
    schedule = ScheduleFactory(name="SRE primary", time_zone=ZONE)
    level = EscalationLevel.objects.create(rule=rule, position=1, escalate_after_minutes=5)
    level.schedules.add(schedule)
    # Today is Alice's turn (from local midnight), tomorrow Bob's.
    today = timezone.now().astimezone(ZoneInfo(ZONE)).date()
    ScheduleLayerFactory(
        schedule=schedule,
        people=[users["alice"], users["bob"]],
        start_date=today,
        handoff_time=time(0),
        rotation_unit="days",
    )
    return {
        "users": users,
        "people": sandbox_people,
        "schedule": schedule,
        "source": AlertSourceFactory(channel=channel, kind="alertmanager"),
    }


def texts_to(person) -> list[str]:
    """The bot's direct text messages to a sandbox person (not replies to a command)."""
    return [
        json.loads(m.content)["text"]
        for m in SandboxMessage.objects.filter(
            user=person, msg_type="text", sender=None, reply_to=None
        ).order_by("pk")
    ]


def cards() -> dict[str, int]:
    received: dict[str, int] = {}
    for message in SandboxMessage.objects.filter(msg_type="interactive").select_related("user"):
        received[message.user.name] = received.get(message.user.name, 0) + 1
    return received


def test_a_swap_taken_from_the_chat_changes_who_the_escalation_notifies(client, world, sandbox_app):
    users, people, schedule = world["users"], world["people"], world["schedule"]
    assert resolve.responder(schedule, timezone.now()).user == users["alice"]
    rest_of_today = swaps.upcoming_shifts(schedule, users["alice"])[0]
    swap = swaps.ask(schedule, users["alice"], rest_of_today.start, rest_of_today.end)
    wait_for(lambda: texts_to(people["bob"]), "Bob to hear of the request")
    assert f"(request #{swap.pk})" in texts_to(people["bob"])[0]

    message = write(sandbox_app, people["bob"], f"接班 {swap.pk}", user=people["bob"])

    assert reply_text(message).startswith(f"#{swap.pk} Taken: you are on call for SRE primary")
    wait_for(lambda: texts_to(people["alice"]), "Alice to hear who took it")
    assert texts_to(people["alice"])[0].startswith("Bob took your shift of SRE primary")
    override = ScheduleOverride.objects.get()
    assert (override.user, override.created_by) == (users["bob"], users["bob"])

    body = payloads.alertmanager(payloads.am_alert("ReplicationLag"))
    response = client.post(
        f"/push/{world['source'].token}", data=body, content_type="application/json"
    )
    assert response.status_code == 200
    incident = wait_for(lambda: Incident.objects.first(), "an incident")

    wait_for(lambda: cards() == {"Bob Li": 1}, "the card to Bob only")
    notified = incident.timeline.get(kind=TimelineEntry.Kind.NOTIFIED).message
    assert notified == "Level 1: notified Bob (on call: SRE primary)."
