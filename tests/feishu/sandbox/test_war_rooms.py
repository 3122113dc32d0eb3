"""War rooms end to end against the sandbox: a Feishu group chat for an incident, asked for
from a card click, the incident page or the API (or opened by an escalation rule), with the
right members, the incident's card posted, pinned and kept current there, and its link on
every surface."""

from __future__ import annotations

import gc

import pytest
from django.contrib.messages import get_messages
from django.utils import translation
from rest_framework.test import APIClient

from integrations.feishu import escalation_targets, tasks, war_rooms
from integrations.feishu.cards import delivery
from integrations.feishu.cards.render import console_url, incident_card
from integrations.feishu.client.open_api import pooled_session
from integrations.feishu.models import FeishuChat, RuleWarRoom, WarRoom
from integrations.feishu.platform import FeishuPlatform
from integrations.feishu_sandbox.models import SandboxChat, SandboxMessage
from integrations.feishu_sandbox.send import Click, send_card_action
from oncall import lifecycle
from oncall.models import ActionSource, Incident, TimelineEntry
from oncall.timeline import Actor
from tests.factories import (
    ChannelFactory,
    EscalationLevelFactory,
    EscalationRuleFactory,
    IncidentFactory,
    UserFactory,
)
from tests.feishu.sandbox.world import link

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, settings):
    """Alice, Bob and Dave are linked; Carol is not; Dave is outside the app's availability.
    All four are members of the channel and were notified in Feishu by the escalation."""
    console_app.war_room_enabled = True
    console_app.save()
    sandbox_app.card_request_url = console_app.card_callback_url
    sandbox_app.available_to_all = False
    sandbox_app.save()
    sandbox_app.available_users.add(*(sandbox_people[k] for k in ("alice", "bob", "carol")))
    users = {k: UserFactory(username=k, first_name=k.title()) for k in sandbox_people}
    for key in ("alice", "bob", "dave"):
        link(users[key], console_app, sandbox_app, sandbox_people[key])
    channel = ChannelFactory(name="Databases")
    channel.members.add(*users.values())
    incident = IncidentFactory(channel=channel, title="Replication lag", severity="critical")
    delivery.notify(incident, console_app, list(users.values()), [])
    yield {
        "app": sandbox_app,
        "console_app": console_app,
        "people": sandbox_people,
        "users": users,
        "incident": incident,
    }
    # A refused send's response lives on in its exception's traceback (a reference cycle), and
    # the card sends' kept-alive session holds a live-server thread: both let go here, so that
    # the thread ends with the test rather than outliving the test database.
    gc.collect()
    pooled_session().close()


def dm_card(world, who: str) -> SandboxMessage:
    return SandboxMessage.objects.get(user=world["people"][who], msg_type="interactive")


def click_war_room(world, who: str = "alice"):
    value = {"action": "offer", "key": "war_room", "incident": str(world["incident"].public_id)}
    return send_card_action(
        world["app"], world["people"][who], dm_card(world, who), Click("button", value)
    )


def open_by_click(world, monkeypatch, who: str = "alice"):
    """Click "Open a war room", then run the opening task a worker would run."""
    held: list[int] = []
    monkeypatch.setattr(tasks.open_war_room, "delay", held.append)  # the queue, not a worker
    answer = click_war_room(world, who)
    tasks.open_war_room(held.pop())
    monkeypatch.undo()
    return answer


def the_room(world) -> WarRoom:
    return WarRoom.objects.select_related("chat").get(incident=world["incident"])


def sandbox_chat_of(room: WarRoom) -> SandboxChat:
    return SandboxChat.objects.get(chat_id=room.chat.chat_id)


def war_room_entries(world) -> list[str]:
    entries = world["incident"].timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM)
    return list(entries.order_by("created_at", "id").values_list("message", flat=True))


def room_card(room: WarRoom) -> SandboxMessage:
    return SandboxMessage.objects.get(chat__chat_id=room.chat.chat_id, msg_type="interactive")


def offered_keys(card: dict) -> list[str]:
    rows = [e for e in card["elements"] if e.get("tag") == "action"]
    return [b["value"]["key"] for row in rows for b in row["actions"] if "key" in b["value"]]


# --- From a card ------------------------------------------------------------------------------


def test_a_card_click_opens_a_room_with_the_right_members_and_a_pinned_live_card(
    world, client, monkeypatch
):
    assert "war_room" in offered_keys(incident_card(world["incident"]))
    # The opening is a worker's task, as in production: the click is answered without it
    # (inline, it would run inside the 3 s Feishu gives the answer).
    held: list[int] = []
    monkeypatch.setattr(tasks.open_war_room, "delay", held.append)  # the queue, not a worker
    answer = click_war_room(world)
    assert not answer.failed, answer
    assert (answer.toast_type, answer.toast) == (
        "success",
        "Opening the war room: its link appears on the incident in a moment.",
    )
    assert "war_room" not in offered_keys(answer.card)
    tasks.open_war_room(held.pop())
    room = the_room(world)
    assert room.state == WarRoom.State.OPEN
    number = world["incident"].number
    assert room.name == f"#{number} Replication lag"
    chat = sandbox_chat_of(room)
    assert chat.name == room.name
    assert set(chat.members.values_list("name", flat=True)) == {"Alice Chen", "Bob Li"}
    assert list(chat.bots.all()) == [world["app"]]
    assert chat.create_uuid == room.create_uuid
    # The clicker's card, brought up to date, carries the link (the sandbox's chat page is on
    # the console's host, so the card links it through the web entry, as every console page).
    link = war_rooms.chat_link(world["console_app"], chat.chat_id)
    delivery.sync(world["incident"].pk)
    assert f"({console_url(link, world['console_app'])})" in dm_card(world, "alice").content
    # The card in the room, pinned, with working buttons.
    card = room_card(room)
    assert card.pinned_at is not None
    assert room.pinned_message_id == card.message_id
    assert war_room_entries(world) == [
        "War room requested by Alice.",
        f"War room “#{number} Replication lag” opened; invited Alice, Bob; not invited: "
        "Carol (no linked Feishu account in Sandbox), Dave (outside the app's availability, "
        "or unknown to Feishu).",
    ]
    # Who was not invited, and why, in a Chinese reader's words.
    opened = world["incident"].timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM).latest("pk")
    with translation.override("zh-hans"):
        assert "Carol（在 Sandbox 中没有关联的飞书账号）" in opened.text  # noqa: RUF001
        assert "Dave（不在应用的可见范围内，或飞书中没有此人）" in opened.text  # noqa: RUF001
    # The sandbox's page of the chat: its members, its creator and uuid, the pinned card.
    page = client.get(f"/sandbox/feishu/chats/{chat.chat_id}/").content.decode()
    assert all(name in page for name in ("Alice Chen", "Bob Li", room.create_uuid))
    assert card.message_id in page
    # A war room is no standing target: a level's chat choices leave it out.
    assert not escalation_targets.standing_chats().filter(pk=room.chat.pk).exists()
    claimed = send_card_action(
        world["app"], world["people"]["bob"], card, Click("button", _claim(world))
    )
    assert claimed.toast_type == "success"
    assert Incident.objects.get(pk=world["incident"].pk).claimed_by == world["users"]["bob"]


def _claim(world) -> dict:
    return {"action": "claim", "incident": str(world["incident"].public_id)}


def test_the_room_card_follows_a_change_made_elsewhere(world, monkeypatch):
    open_by_click(world, monkeypatch)
    room = the_room(world)
    lifecycle.claim(world["incident"], Actor(world["users"]["bob"], ActionSource.API))
    delivery.sync(world["incident"].pk)
    card = room_card(room)
    card.refresh_from_db()
    assert "Claimed by Bob" in card.content
    assert card.update_count >= 1


def test_asking_twice_gives_the_same_room(world, monkeypatch):
    open_by_click(world, monkeypatch)
    first = the_room(world)
    # A second request (an old card's button, a page open since before) finds the same room.
    room = war_rooms.request(
        world["incident"], world["console_app"], Actor(world["users"]["bob"], ActionSource.API)
    )
    assert room.pk == first.pk
    assert war_rooms.outcome(room).url == war_rooms.chat_link(
        world["console_app"], first.chat.chat_id
    )
    assert SandboxChat.objects.filter(create_uuid=first.create_uuid).count() == 1
    assert WarRoom.objects.count() == FeishuChat.objects.count() == 1
    # The click on a card that still shows the button gets the current card and the link.
    answer = click_war_room(world, "bob")
    assert answer.toast_type == "warning"
    assert "war_room" not in offered_keys(answer.card)


def test_opening_twice_with_the_same_uuid_creates_one_chat(world):
    """A task handed out again after it created the chat (a killed worker) finds that chat."""
    room = war_rooms.request(
        world["incident"], world["console_app"], Actor(world["users"]["alice"], ActionSource.WEB)
    )
    room.refresh_from_db()
    chat_id = room.chat.chat_id
    WarRoom.objects.filter(pk=room.pk).update(state=WarRoom.State.OPENING)
    war_rooms.open_room(room.pk)
    assert SandboxChat.objects.filter(created_by_app=world["app"]).count() == 1
    assert the_room(world).chat.chat_id == chat_id


# --- From the page and the API ------------------------------------------------------------------


def test_the_page_asks_whom_else_to_invite_and_opens_the_room(world, client):
    client.force_login(world["users"]["carol"])
    incident = world["incident"]
    url = f"/incidents/{incident.public_id}/actions/war_room/"
    page = client.get(f"/incidents/{incident.public_id}/").content.decode()
    assert f'href="{url}"' in page
    question = client.get(url).content.decode()
    assert 'name="people"' in question
    response = client.post(url, {"people": [world["users"]["dave"].pk]})
    assert response.status_code == 302
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert said == [f"The war room “#{incident.number} Replication lag” is open."]
    room = the_room(world)
    assert room.requested_via == ActionSource.WEB
    page = client.get(f"/incidents/{incident.public_id}/").content.decode()
    assert war_rooms.chat_link(world["console_app"], room.chat.chat_id) in page
    assert f'href="{url}"' not in page


def test_the_api_opens_a_room_with_chosen_people_and_shows_its_link(world, sandbox_people):
    api = APIClient()
    api.force_authenticate(world["users"]["carol"])
    incident = world["incident"]
    # Only Carol (unlinked) was notified: the room gets whoever is linked among the rest.
    incident.feishu_deliveries.exclude(user=world["users"]["carol"]).delete()
    body = api.get(f"/api/v1/incidents/{incident.public_id}/").json()
    assert [a["key"] for a in body["actions"]] == ["war_room"]
    assert body["actions"][0]["takes_people"] is True
    response = api.post(
        f"/api/v1/incidents/{incident.public_id}/actions/war_room/",
        {"people": [world["users"]["alice"].pk]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    answer = response.json()
    room = the_room(world)
    link = war_rooms.chat_link(world["console_app"], room.chat.chat_id)
    assert (answer["ok"], answer["url"]) == (True, link)
    assert {"key": "war_room", "label": "War room", "url": link} in answer["incident"]["links"]
    assert answer["incident"]["actions"] == []
    members = sandbox_chat_of(room).members.values_list("name", flat=True)
    assert list(members) == ["Alice Chen"]
    again = api.post(f"/api/v1/incidents/{incident.public_id}/actions/war_room/")
    assert again.status_code == 404


def test_the_api_refuses_people_outside_the_channel(world):
    outsider = UserFactory(username="eve")
    api = APIClient()
    api.force_authenticate(world["users"]["alice"])
    response = api.post(
        f"/api/v1/incidents/{world['incident'].public_id}/actions/war_room/",
        {"people": [outsider.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert "people" in response.json()["error"]["fields"]
    assert not WarRoom.objects.exists()


# --- Without war rooms, and by rule -------------------------------------------------------------


def test_an_app_without_war_rooms_offers_none(world):
    world["console_app"].war_room_enabled = False
    world["console_app"].save()
    assert "war_room" not in offered_keys(incident_card(world["incident"]))


def test_a_rule_opens_a_room_for_critical_incidents(world, console_app):
    people = [world["users"]["alice"], world["users"]["bob"]]
    rule = EscalationRuleFactory(
        channel=world["incident"].channel, name="Page the DBAs", feishu_app=console_app
    )
    level = EscalationLevelFactory(rule=rule, position=1, users=people)
    RuleWarRoom.objects.create(rule=rule, when="critical")
    warning = IncidentFactory(channel=rule.channel, title="Disk 80 %", severity="warning")
    people = [world["users"]["alice"], world["users"]["bob"]]
    FeishuPlatform().notify(warning, rule, level, people)
    assert not WarRoom.objects.filter(incident=warning).exists()
    critical = IncidentFactory(channel=rule.channel, title="Primary down", severity="critical")
    FeishuPlatform().notify(critical, rule, level, people)
    room = WarRoom.objects.get(incident=critical)
    assert room.state == WarRoom.State.OPEN
    members = sandbox_chat_of(room).members.values_list("name", flat=True)
    assert set(members) == {"Alice Chen", "Bob Li"}
    entries = critical.timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM)
    assert entries.first().message == "War room requested by rule “Page the DBAs”."


def test_a_later_level_invites_only_the_newly_notified(world, console_app, sandbox_app):
    rule = EscalationRuleFactory(
        channel=world["incident"].channel, name="Page everyone", feishu_app=console_app
    )
    RuleWarRoom.objects.create(rule=rule, when="always")
    alice, carol = world["users"]["alice"], world["users"]["carol"]
    first = EscalationLevelFactory(rule=rule, position=1, users=[alice])
    second = EscalationLevelFactory(rule=rule, position=2, users=[alice, carol])
    incident = IncidentFactory(channel=rule.channel, title="Checkout errors", severity="info")
    FeishuPlatform().notify(incident, rule, first, [alice])
    room = WarRoom.objects.get(incident=incident)
    link(carol, console_app, sandbox_app, world["people"]["carol"])
    FeishuPlatform().notify(incident, rule, second, [alice, carol])
    FeishuPlatform().notify(incident, rule, second, [alice, carol])  # a repeat: nobody new
    members = sandbox_chat_of(room).members.values_list("name", flat=True)
    assert set(members) == {"Alice Chen", "Carol Wang"}
    entries = incident.timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM).order_by("id")
    assert [e.message for e in entries][-1] == "Invited to the war room: Carol."
    assert entries.count() == 3
