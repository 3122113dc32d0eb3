"""Notification templates against the sandbox: a channel's template decides what the cards its
incidents send say, and a broken one still delivers a card (the built-in body) and says why."""

from __future__ import annotations

import json

import pytest

from integrations.feishu.cards import delivery
from integrations.feishu_sandbox.models import SandboxMessage
from oncall.models import NotificationTemplate, TimelineEntry
from tests.factories import AlertFactory, ChannelFactory, IncidentFactory, UserFactory
from tests.feishu.sandbox.world import link


@pytest.fixture
def alice(console_app, sandbox_app, sandbox_people):
    user = UserFactory(username="alice", first_name="Alice")
    link(user, console_app, sandbox_app, sandbox_people["alice"])
    return user


def incident_with(template: NotificationTemplate | None, alice):
    channel = ChannelFactory(notification_template=template)
    channel.members.add(alice)
    incident = IncidentFactory(channel=channel, title="Disk full on db-1")
    AlertFactory(
        incident=incident,
        channel=channel,
        description="/var is 97% full",
        labels={"resource": "db-1", "team": "storage"},
    )
    return incident


def delivered_body(sandbox_person) -> str:
    (message,) = SandboxMessage.objects.filter(user=sandbox_person, msg_type="interactive")
    elements = json.loads(message.content)["elements"]
    return elements[2]["text"]["content"]


def test_a_channels_template_is_what_its_cards_say(console_app, alice, sandbox_people):
    template = NotificationTemplate.objects.create(
        name="Terse",
        bodies={"feishu_card": "**{{ Labels.team }}** owns {{ Labels.resource }}: {{ Title }}"},
    )
    incident = incident_with(template, alice)

    delivery.notify(incident, console_app, [alice], [])

    assert delivered_body(sandbox_people["alice"]) == "**storage** owns db-1: Disk full on db-1"


def test_without_a_template_the_card_says_what_it_always_did(console_app, alice, sandbox_people):
    incident = incident_with(None, alice)

    delivery.notify(incident, console_app, [alice], [])

    assert delivered_body(sandbox_people["alice"]).split("\n") == [
        "/var is 97% full",
        "**resource**: db-1",
        "**team**: storage",
    ]


def test_a_broken_template_still_delivers_the_card_and_says_why(console_app, alice, sandbox_people):
    template = NotificationTemplate.objects.create(
        name="Broken", bodies={"feishu_card": "{{ Labels.team.__class__ }}"}
    )
    incident = incident_with(template, alice)

    delivery.notify(incident, console_app, [alice], [])

    assert delivered_body(sandbox_people["alice"]).startswith("/var is 97% full")
    entry = TimelineEntry.objects.get(incident=incident, kind=TimelineEntry.Kind.TEMPLATE_FAILED)
    assert "'Broken' could not be rendered" in entry.message
