"""``new`` and ``assign`` the real way: a person writes to the bot in the sandbox, the sandbox
posts ``im.message.receive_v1`` (signed and encrypted, with its mentions) to the console, the
bot answers in the sandbox, and the cards the command caused arrive there: level 1's for an
incident opened by hand, the assignee's for an assignment."""

from __future__ import annotations

import pytest

from integrations.feishu.models import FeishuChat
from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import SandboxMessage, SandboxUser
from oncall.models import EscalationLevel, Incident, TimelineEntry
from tests.factories import ChannelFactory, EscalationRuleFactory, UserFactory
from tests.feishu.sandbox.chat import reply_text, write
from tests.feishu.sandbox.world import link
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, sandbox_chat):
    """Alice, Bob (level 1, with the SRE group) and Carol, members of Databases, linked."""
    sandbox_app.event_request_url = console_app.event_callback_url
    sandbox_app.save()
    users = {}
    for key in ("alice", "bob", "carol"):
        users[key] = UserFactory(username=key, first_name=key.title(), last_name="Test")
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    channel = ChannelFactory(name="Databases")
    channel.members.add(*users.values())
    channel.escalation_rules.all().delete()
    rule = EscalationRuleFactory(channel=channel, name="Databases on-call", feishu_app=console_app)
    group = FeishuChat.objects.create(
        app=console_app, chat_id=sandbox_chat.chat_id, name=sandbox_chat.name
    )
    level = EscalationLevel.objects.create(rule=rule, position=1, escalate_after_minutes=5)
    level.users.add(users["bob"])
    level.feishu_chats.add(group)
    return {"users": users, "people": sandbox_people, "chat": sandbox_chat, "channel": channel}


def cards_to(person: SandboxUser) -> list[SandboxMessage]:
    return list(SandboxMessage.objects.filter(user=person, msg_type="interactive"))


def test_new_opens_an_incident_whose_level_1_is_notified(sandbox_app, world):
    alice, bob = world["people"]["alice"], world["people"]["bob"]

    message = write(sandbox_app, alice, "new critical Checkout is slow", user=alice)

    incident = wait_for(lambda: Incident.objects.first(), "the incident")
    assert reply_text(message).startswith(
        f"#{incident.number} opened in Databases (Critical): Checkout is slow"
    )
    wait_for(
        lambda: (
            len(cards_to(bob)) == 1
            and SandboxMessage.objects.filter(chat=world["chat"], msg_type="interactive").count()
            == 1
        ),
        "level 1's cards to Bob and the SRE group",
    )
    assert "Checkout is slow" in cards_to(bob)[0].content
    assert cards_to(alice) == []
    incident.refresh_from_db()
    assert incident.created_by == world["users"]["alice"]
    notified = incident.timeline.get(kind=TimelineEntry.Kind.NOTIFIED)
    assert notified.message == "Level 1: notified Bob Test, SRE on-call."


def test_new_in_the_escalation_s_group_needs_no_channel(console_app, sandbox_app, world):
    # Alice is in a second channel too: the group chat decides.
    ChannelFactory(name="Payments").members.add(world["users"]["alice"])
    alice = world["people"]["alice"]

    message = write(
        sandbox_app,
        alice,
        f"{send.MENTION_KEY} 新建 数据库 复制延迟",
        chat=world["chat"],
    )

    assert "opened in Databases (Warning): 数据库 复制延迟" in reply_text(message)
    assert Incident.objects.get().channel == world["channel"]


def test_assign_in_the_group_notifies_the_person_mentioned(sandbox_app, world):
    people, users = world["people"], world["users"]
    write(sandbox_app, people["alice"], "new Disk full on db-1", user=people["alice"])
    incident = wait_for(lambda: Incident.objects.first(), "the incident")
    wait_for(lambda: len(cards_to(people["bob"])) == 1, "level 1's card to Bob")

    message = write(
        sandbox_app,
        people["alice"],
        f"{send.MENTION_KEY} assign {incident.number} @_user_2",
        {"@_user_2": people["carol"]},
        chat=world["chat"],
    )

    assert reply_text(message) == (
        f"#{incident.number} Assigned to Carol Test by Alice Test; notified Carol Test (Feishu)"
    )
    card = wait_for(lambda: cards_to(people["carol"]), "the card to Carol")[0]
    assert "Assigned to" in card.content
    assert "Carol Test" in card.content
    incident.refresh_from_db()
    assert incident.assigned_to == users["carol"]
    entry = incident.timeline.get(kind=TimelineEntry.Kind.ASSIGNED)
    assert (entry.source, entry.data["message_id"]) == ("feishu", message.message_id)
