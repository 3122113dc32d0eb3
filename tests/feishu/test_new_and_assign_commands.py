"""The bot's ``new <title>`` / ``新建 <标题>`` and ``assign N @person`` / ``分派 N @某人``
commands, through ``chat_commands.answer`` as the message task calls it, and Feishu's part of
``notify_people`` (the card to the person's linked account). The same through the sandbox, end
to end, is in ``tests/feishu/sandbox/test_new_and_assign_flow.py``."""

from __future__ import annotations

from itertools import count

import pytest
from django.utils import translation

from integrations.feishu.cards.render import incident_card
from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage, incoming_message
from integrations.feishu.models import CardDelivery, LinkedAccount, SentCard
from integrations.feishu.platform import FeishuPlatform
from oncall import lifecycle
from oncall.models import EscalationLevel, Incident, TimelineEntry
from oncall.timeline import Actor
from tests.factories import (
    ChannelFactory,
    EscalationRuleFactory,
    FeishuAppFactory,
    FeishuChatFactory,
    IncidentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Kind = TimelineEntry.Kind
_ids = count(1)


@pytest.fixture
def app():
    return FeishuAppFactory(name="Ops")


def person(app, username: str, first: str, last: str):
    user = UserFactory(username=username, first_name=first, last_name=last)
    LinkedAccount.objects.create(user=user, app=app, open_id=f"ou_{username}")
    return user


@pytest.fixture
def alice(app):
    return person(app, "alice", "Alice", "Chen")


@pytest.fixture
def bob(app):
    return person(app, "bob", "Bob", "Li")


@pytest.fixture
def channel(alice, bob):
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice, bob)
    return channel


def say(
    app,
    text,
    *,
    sender="ou_alice",
    chat_type="p2p",
    chat_id="oc_chat",
    parent_id="",
    mentions=None,
) -> str:
    message = IncomingMessage(
        message_id=f"om_msg{next(_ids)}",
        chat_id=chat_id,
        chat_type=chat_type,
        sender_open_id=sender,
        text=text,
        parent_id=parent_id,
        mentions=mentions or {},
    )
    return chat_commands.answer(app, message)


def mention(open_id: str, name: str) -> dict[str, str]:
    return {"open_id": open_id, "name": name}


# --- new -----------------------------------------------------------------------------------------


def test_new_opens_an_incident_in_the_sender_s_only_channel(app, alice, channel):
    answer = say(app, "new Checkout is slow")

    incident = Incident.objects.get()
    assert answer.startswith(
        f"#{incident.number} opened in Databases (Warning): Checkout is slow\n"
    )
    # The link opens the incident through the app's web entry: signed in, inside Feishu.
    assert answer.endswith(app.web_entry_url(f"/incidents/{incident.public_id}/"))
    assert (incident.channel, incident.created_by, incident.severity) == (channel, alice, "warning")
    created = incident.timeline.get(kind=Kind.CREATED)
    assert (created.message, created.source, created.data["via"]) == (
        "Opened by Alice Chen",
        "feishu",
        "chat command",
    )


def test_xinjian_is_new_in_chinese_and_a_severity_may_lead(app, alice, channel):
    answer = say(app, "新建 critical 数据库 磁盘满")

    incident = Incident.objects.get()
    assert (incident.title, incident.severity) == ("数据库 磁盘满", "critical")
    assert answer.startswith(f"#{incident.number} opened in Databases (Critical)")


def test_new_asks_which_channel_when_the_sender_has_several(app, alice, channel):
    ChannelFactory(name="Payments").members.add(alice)

    answer = say(app, "new Checkout is slow")

    assert answer == (
        "Which channel? Write “new #<channel> <title>” with one of: Databases, Payments."
    )
    assert not Incident.objects.exists()


def test_new_takes_a_channel_by_name_even_with_spaces(app, alice, channel):
    ChannelFactory(name="Payments").members.add(alice)
    ChannelFactory(name="Payments EU").members.add(alice)

    say(app, "new #payments eu critical Card payments fail")

    incident = Incident.objects.get()
    assert (incident.channel.name, incident.title, incident.severity) == (
        "Payments EU",
        "Card payments fail",
        "critical",
    )


def test_new_takes_a_hash_apart_from_the_name(app, alice, channel):
    ChannelFactory(name="Payments").members.add(alice)

    say(app, "new # databases Replication lag")

    assert (Incident.objects.get().channel, Incident.objects.get().title) == (
        channel,
        "Replication lag",
    )


def test_new_refuses_a_channel_name_the_sender_does_not_have(app, alice, channel):
    ChannelFactory(name="Secret")

    answer = say(app, "new #Secret Let me in")

    assert answer.startswith("You have no channel named so. Which channel?")
    assert "Secret" not in answer
    assert not Incident.objects.exists()


def test_new_in_a_group_uses_the_channel_whose_escalation_notifies_the_group(app, alice, channel):
    ChannelFactory(name="Payments").members.add(alice)
    group = FeishuChatFactory(app=app, chat_id="oc_dba")
    rule = EscalationRuleFactory(channel=channel, feishu_app=app)
    EscalationLevel.objects.create(rule=rule, position=1).feishu_chats.add(group)

    say(app, "@_user_1 new Replication lag", chat_type="group", chat_id="oc_dba")

    assert Incident.objects.get().channel == channel


def test_new_from_someone_in_no_channel_says_so(app):
    person(app, "dave", "Dave", "Zhang")

    answer = say(app, "new Help", sender="ou_dave")

    assert answer.startswith("You are not a member of any channel")


@pytest.mark.parametrize("text", ["new", "new critical", "新建"])
def test_new_without_a_title_explains_itself(app, alice, channel, text):
    assert "to open an incident" in say(app, text)
    assert not Incident.objects.exists()


def test_new_with_too_long_a_title_says_why(app, alice, channel):
    assert say(app, "new " + "x" * 600) == "A title has at most 512 characters"


def test_new_from_an_unlinked_person_says_how_to_link(app, channel):
    assert "not linked" in say(app, "new Help", sender="ou_stranger")
    assert not Incident.objects.exists()


def test_help_lists_new_and_assign(app):
    text = chat_commands.help_text(app)
    assert "new <title>: open an incident (新建 <标题>)" in text
    assert "assign N @person:" in text
    assert "分派 N @某人" in text


# --- assign --------------------------------------------------------------------------------------


@pytest.fixture
def incident(channel):
    return IncidentFactory(channel=channel, title="Disk full on db-1")


def test_assign_hands_the_incident_to_the_person_mentioned(app, alice, bob, incident):
    answer = say(
        app,
        f"assign {incident.number} @_user_1",
        mentions={"@_user_1": mention("ou_bob", "Bob Li")},
    )

    assert answer.startswith(f"#{incident.number} Assigned to Bob Li by Alice Chen; ")
    incident.refresh_from_db()
    assert incident.assigned_to == bob
    entry = incident.timeline.get(kind=Kind.ASSIGNED)
    assert (entry.source, entry.data["via"]) == ("feishu", "chat command")


def test_fenpai_in_a_group_skips_the_bot_s_own_mention(app, alice, bob, incident):
    say(
        app,
        f"@_user_1 分派 #{incident.number} @_user_2",
        chat_type="group",
        mentions={
            "@_user_1": mention("ou_the_bot", "Ops"),
            "@_user_2": mention("ou_bob", "Bob Li"),
        },
    )

    incident.refresh_from_db()
    assert incident.assigned_to == bob


def test_assign_in_a_reply_to_the_card_needs_no_number(app, alice, bob, incident):
    delivery = CardDelivery.objects.create(incident=incident, app=app, user=alice, sent=1)
    SentCard.objects.create(delivery=delivery, message_id="om_card")

    say(
        app,
        "assign @_user_1",
        parent_id="om_card",
        mentions={"@_user_1": mention("ou_bob", "Bob Li")},
    )

    incident.refresh_from_db()
    assert incident.assigned_to == bob


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("assign {n}", {}),
        ("assign {n} bob", {}),
        ("assign {n} 2", {}),
        ("assign {n} level two", {}),
        ("assign {n} level 2 @_user_1", {"@_user_1": mention("ou_bob", "Bob Li")}),
        ("assign @_user_1", {"@_user_1": mention("ou_bob", "Bob Li")}),
        (
            "assign {n} @_user_1 @_user_2",
            {"@_user_1": mention("ou_bob", "Bob Li"), "@_user_2": mention("ou_alice", "A")},
        ),
    ],
)
def test_assign_explains_itself(app, alice, incident, text, mentions):
    answer = say(app, text.format(n=incident.number), mentions=mentions)

    assert answer == (
        "Write “assign N @person” with the incident's number and one person, or “assign N "
        "level 2” for a level of its escalation rule; in a reply to its card, N may be left out."
    )
    assert Incident.objects.get().assigned_to is None


@pytest.mark.parametrize("words", ["level 2", "L2", "级别 2"])
def test_assign_to_a_level_of_the_rule(app, alice, incident, words):
    rule = EscalationRuleFactory(channel=incident.channel, name="DBA", position=0)
    incident.channel.escalation_rules.exclude(pk=rule.pk).delete()
    EscalationLevel.objects.create(rule=rule, position=1, notify_channel_members=True)
    EscalationLevel.objects.create(rule=rule, position=2, notify_channel_members=True)

    answer = say(app, f"分派 {incident.number} {words}")

    assert answer.startswith(f"#{incident.number} Assigned to level 2 of “DBA” by Alice Chen; ")
    incident.refresh_from_db()
    assert (incident.escalation_rule, incident.escalation_level) == (rule, 2)


def test_assign_to_a_level_that_does_not_exist_says_so(app, alice, incident):
    answer = say(app, f"assign {incident.number} level 7")

    assert "there is no level 7" in answer


def test_assign_to_someone_not_linked_says_so(app, alice, incident):
    answer = say(
        app,
        f"assign {incident.number} @_user_1",
        mentions={"@_user_1": mention("ou_carol", "Carol Wang")},
    )

    assert answer.startswith("Carol Wang has no console account linked to this Feishu app")


def test_assign_to_someone_outside_the_channel_is_refused(app, alice, incident):
    person(app, "carol", "Carol", "Wang")

    answer = say(
        app,
        f"assign {incident.number} @_user_1",
        mentions={"@_user_1": mention("ou_carol", "Carol Wang")},
    )

    assert answer == (
        f"#{incident.number} Not a member of the channel Databases: Carol Wang. Only its "
        "members can be assigned its incidents."
    )


def test_a_non_member_cannot_reassign_by_command(app, bob, incident):
    person(app, "mallory", "Mallory", "X")

    answer = say(
        app,
        f"assign {incident.number} @_user_1",
        sender="ou_mallory",
        mentions={"@_user_1": mention("ou_bob", "Bob Li")},
    )

    assert answer == f"No incident #{incident.number} that you can see."
    assert Incident.objects.get(assigned_to=None)


# --- mentions in the event -----------------------------------------------------------------------


def test_the_event_s_mentions_reach_the_command():
    message = incoming_message(
        {
            "sender": {"sender_id": {"open_id": "ou_alice"}, "sender_type": "user"},
            "message": {
                "message_id": "om_1",
                "chat_id": "oc_1",
                "chat_type": "group",
                "message_type": "text",
                "content": '{"text":"@_user_1 assign 12 @_user_2"}',
                "mentions": [
                    {"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "Ops"},
                    {"key": "@_user_2", "id": {"open_id": "ou_bob"}, "name": "Bob Li"},
                    {"key": "not a key", "id": {"open_id": "ou_x"}},
                    "junk",
                ],
            },
        }
    )

    assert message.words == ["assign", "12"]
    assert message.mentioned_after_command == [{"open_id": "ou_bob", "name": "Bob Li"}]
    # The task receives the message as a dict (JSON): it is built again from it.
    assert IncomingMessage(**message.__dict__) == message


# --- Feishu's notify_people and the card ---------------------------------------------------------


def test_notify_people_sends_the_card_to_linked_accounts_and_names_the_rest(
    app, alice, bob, incident
):
    carol = UserFactory(username="carol", first_name="Carol", last_name="Wang")

    report = FeishuPlatform().notify_people(incident, [bob, carol], "Assigned to you")

    assert report.notified == ["Bob Li"]
    assert report.unreachable == ["Carol Wang (no linked Feishu account in Ops)"]
    assert CardDelivery.objects.get(incident=incident, user=bob).requested == 1
    assert incident.timeline.filter(kind=Kind.DELIVERY_FAILED).exists()


def test_an_assignment_names_the_platform_in_each_readers_language(app, alice, bob, incident):
    with translation.override("zh-hans"):  # the writer's language does not stick to it
        lifecycle.assign_person(incident, Actor(alice, "web"), bob)

    entry = incident.timeline.filter(kind=Kind.ASSIGNED).get()
    with translation.override("en"):
        assert entry.text.endswith("notified Bob Li (Feishu)")
    with translation.override("zh-hans"):
        assert entry.text.endswith("已通知 Bob Li（飞书）")  # noqa: RUF001


def test_notify_people_without_an_app_says_so(alice, bob, incident):
    FeishuAppFactory()
    FeishuAppFactory()  # two apps and no rule choosing one: nobody delivers

    report = FeishuPlatform().notify_people(incident, [bob], "Assigned to you")

    assert report.unreachable == ["Bob Li (no Feishu app delivers this incident)"]


def test_the_card_shows_the_assignee(app, alice, bob, incident):
    lifecycle.assign_person(incident, Actor(alice, "web"), bob)
    incident.refresh_from_db()

    fields = [f["text"]["content"] for f in incident_card(incident)["elements"][0]["fields"]]

    assert "**Assigned to**\nBob Li" in fields
