"""DingTalk war rooms against the sandbox on a live server: the client's scene-group and
by-mobile calls, a room asked for from the API, a card or the incident page that makes the
scene group with the responders and posts the card there, a later claim updating that copy,
DingTalk's refusal in plain words (English and Chinese), and the offer's cost on a console
without a group template."""

from __future__ import annotations

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from integrations.dingtalk import war_rooms
from integrations.dingtalk.cards import delivery
from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkAccount, DingTalkGroup, DingTalkWarRoom
from integrations.dingtalk_sandbox import card_clicks
from integrations.dingtalk_sandbox.models import SandboxCard, SandboxGroup, SandboxUser
from oncall import offers
from oncall.models import ActionSource, Incident, TimelineEntry
from oncall.timeline import Actor
from tests.dingtalk.cards_world import PEOPLE, cards_to, shows, user_id_of
from tests.dingtalk.factories import DingTalkAppFactory
from tests.factories import IncidentFactory, UserFactory

KEY = war_rooms.KEY


def war_rooms_on(world) -> None:
    """The app has the sandbox app's group template, as the guide's step sets it; the sandbox
    organisation knows the world's people (Carol by her mobile only, on the console's side)."""
    world.app.war_room_template_id = world.sandbox_app.group_template_id
    world.app.war_room_bot_id = world.sandbox_app.group_bot_id
    world.app.save()
    for number, name in enumerate(PEOPLE):
        SandboxUser.objects.create(
            user_id=user_id_of(name), name=name.title(), mobile=f"1380000000{number}"
        )
    DingTalkAccount.objects.filter(user=world.users["carol"]).update(
        dingtalk_user_id="", mobile="13800000002"
    )


def notified(world, *names: str) -> Incident:
    incident = IncidentFactory(channel=world.channel, title="Replication lag", severity="critical")
    delivery.notify(incident, world.app, [world.users[n] for n in names], [])
    return incident


def the_room(incident: Incident) -> DingTalkWarRoom:
    return DingTalkWarRoom.objects.select_related("group").get(incident=incident)


def scene_group(room: DingTalkWarRoom) -> SandboxGroup:
    return SandboxGroup.objects.get(open_conversation_id=room.group.open_conversation_id)


# --- The client's calls, against the sandbox -----------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_client_makes_one_scene_group_per_uuid(world):
    war_rooms_on(world)
    client = delivery.client_for(world.app)
    made = [
        client.create_scene_group(
            template_id=world.app.war_room_template_id,
            title="#7 Replication lag",
            owner_user_id=user_id_of("alice"),
            user_ids=[user_id_of("bob"), "nobody-here"],
            uuid="oncall-war-room-1-1",
        )
        for _ in range(2)
    ]
    assert made[0] == made[1]
    group = SandboxGroup.objects.get(open_conversation_id=made[0].open_conversation_id)
    assert (group.title, group.owner_user_id, group.chat_id) == (
        "#7 Replication lag",
        user_id_of("alice"),
        made[0].chat_id,
    )
    assert group.member_user_ids == [user_id_of("alice"), user_id_of("bob")]
    assert group.robot_code == world.sandbox_app.group_bot_id


@pytest.mark.django_db(transaction=True)
def test_the_client_names_dingtalks_refusals(world):
    war_rooms_on(world)
    client = delivery.client_for(world.app)
    common = {"title": "#7", "user_ids": [], "uuid": "u-1"}
    with pytest.raises(errors.PermanentError) as unknown_template:
        client.create_scene_group(template_id="tpl-x", owner_user_id=user_id_of("bob"), **common)
    with pytest.raises(errors.PermanentError) as unknown_owner:
        client.create_scene_group(
            template_id=world.app.war_room_template_id, owner_user_id="stranger", **common
        )
    assert (unknown_template.value.code, unknown_owner.value.code) == ("665036", "60121")
    assert client.userid_by_mobile("13800000001") == user_id_of("bob")


# --- Asking for a room, and what it makes ------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_the_api_opens_a_room_with_the_responders_and_posts_the_card(world):
    war_rooms_on(world)
    incident = notified(world, "alice", "bob")
    dave = world.users["dave"]
    DingTalkAccount.objects.filter(user=dave).delete()  # Dave has no linked account
    api = APIClient()
    api.force_authenticate(world.users["alice"])
    body = api.get(f"/api/v1/incidents/{incident.public_id}/").json()
    assert KEY in [a["key"] for a in body["actions"]]

    response = api.post(
        f"/api/v1/incidents/{incident.public_id}/actions/{KEY}/",
        {"people": [world.users["carol"].pk, dave.pk]},
        format="json",
    )

    assert response.status_code == 200, response.json()
    room = the_room(incident)
    assert room.state == DingTalkWarRoom.State.OPEN
    assert room.requested_via == ActionSource.API
    group = scene_group(room)
    assert group.owner_user_id == user_id_of("alice")
    assert group.member_user_ids == [user_id_of(n) for n in ("alice", "bob", "carol")]
    # Carol's userid was found by her mobile, and kept on her link.
    carol = DingTalkAccount.objects.get(user=world.users["carol"])
    assert carol.dingtalk_user_id == user_id_of("carol")
    (card,) = SandboxCard.objects.filter(group=group)
    assert card.data["header"]["title"]["text"] == f"#{incident.number} Replication lag"
    assert card.data == cards_to("alice")[0].data
    answer = response.json()
    assert answer["ok"] is True
    assert answer["url"] == war_rooms.group_link(world.app, group.open_conversation_id)
    assert KEY not in [a["key"] for a in answer["incident"]["actions"]]
    assert {"key": KEY, "label": "DingTalk war room", "url": answer["url"]} in answer["incident"][
        "links"
    ]
    opened = incident.timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM).order_by("pk").last()
    assert opened.message == (
        f"War room “{room.name}” opened; invited Alice, Bob, Carol; not invited: Dave (no "
        f"linked DingTalk account in {world.app})."
    )
    assert DingTalkGroup.objects.get(pk=room.group_id).scene_group is True


@pytest.mark.django_db(transaction=True)
def test_a_click_on_the_card_opens_the_room_and_a_later_claim_updates_its_card(world):
    war_rooms_on(world)
    incident = notified(world, "alice", "bob")
    (alices,) = cards_to("alice")
    assert f"offer:{KEY}" in [b["id"] for b in card_clicks.buttons(alices)]

    opened = card_clicks.click(alices, user_id_of("alice"), f"offer:{KEY}")

    assert opened.ok, opened.outcome
    room = the_room(incident)
    assert opened.outcome == (
        f"The DingTalk war room “{room.name}” is open: it is in your DingTalk chat list."
    )
    assert room.requested_via == "dingtalk"
    (in_room,) = SandboxCard.objects.filter(group=scene_group(room))
    # Every copy now offers the link, not the button.
    alices.refresh_from_db()
    assert f"offer:{KEY}" not in [b["id"] for b in card_clicks.buttons(alices)]
    assert shows(alices, "DingTalk war room")

    claimed = card_clicks.click(alices, user_id_of("bob"), "claim")

    assert claimed.ok, claimed.outcome
    assert shows(in_room, "Claimed by Bob")
    assert in_room.updates >= 1
    clicked_in_room = card_clicks.click(in_room, user_id_of("bob"), "close")
    assert clicked_in_room.outcome == "Closed."
    assert Incident.objects.get(pk=incident.pk).status == Incident.Status.CLOSED


@pytest.mark.django_db(transaction=True)
def test_a_dingtalk_refusal_is_said_in_plain_words(world):
    war_rooms_on(world)
    world.app.war_room_template_id = "a-template-nobody-published"
    world.app.save()
    incident = notified(world, "alice")

    result = offers.run_action(incident, KEY, Actor(world.users["alice"], ActionSource.WEB))

    room = the_room(incident)
    assert room.state == DingTalkWarRoom.State.FAILED
    assert result.ok is False
    assert result.message == room.last_error
    assert "(665036)" in room.last_error
    assert "no published group template with this Template ID" in room.last_error
    failed = incident.timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM).order_by("pk").last()
    assert failed.message == f"War room not opened: {room.last_error}"
    # Failed: asked again, it is offered again.
    assert KEY in [a.key for a in offers.incident_actions(incident)]
    with translation.override("zh-hans"):
        words = war_rooms.explain(errors.PermanentError("群模板不存在或停用", code="665036"))
    assert "群模板" in words
    assert "模板 ID" in words
    assert "DingTalk refused" not in words


@pytest.mark.django_db(transaction=True)
def test_nobody_with_a_userid_owns_no_group(world):
    war_rooms_on(world)
    incident = notified(world, "carol")
    DingTalkAccount.objects.filter(user=world.users["carol"]).update(mobile="")
    outsider = UserFactory(username="erin")
    world.channel.members.add(outsider)

    result = offers.run_action(incident, KEY, Actor(outsider, ActionSource.WEB))

    assert result.ok is False
    assert result.message == war_rooms.no_owner_message(world.app)
    assert not SandboxGroup.objects.exclude(template_app=None).exists()


# --- What the offer costs -----------------------------------------------------------------------


@pytest.mark.django_db
def test_without_a_group_template_the_offer_costs_no_query(django_assert_num_queries):
    DingTalkAppFactory(war_room_template_id="", war_room_bot_id="")
    incident = IncidentFactory()
    offer = war_rooms.WarRoomOffers()
    war_rooms.apps_in_use()  # counted once, then kept
    with django_assert_num_queries(0):
        assert (offer.links(incident), offer.actions(incident)) == ([], [])


@pytest.mark.django_db
def test_with_a_group_template_the_offer_reads_the_room_only(django_assert_num_queries):
    DingTalkAppFactory(war_room_template_id="tpl-1", war_room_bot_id="bot-1")
    incident = IncidentFactory()
    offer = war_rooms.WarRoomOffers()
    war_rooms.apps_in_use()  # counted once, then kept
    with django_assert_num_queries(1):
        assert [action.key for action in offer.actions(incident)] == [KEY]
    with django_assert_num_queries(1):
        assert offer.links(incident) == []


@pytest.mark.django_db
def test_a_group_template_set_or_removed_is_seen_at_once():
    app = DingTalkAppFactory(war_room_template_id="", war_room_bot_id="")
    incident = IncidentFactory()
    assert KEY not in [a.key for a in offers.incident_actions(incident)]
    app.war_room_template_id, app.war_room_bot_id = "tpl-1", "bot-1"
    app.save()
    assert KEY in [a.key for a in offers.incident_actions(incident)]
    app.enabled = False
    app.save()
    assert KEY not in [a.key for a in offers.incident_actions(incident)]


def test_the_room_name_is_cut_to_the_limit():
    incident = Incident(number=12, title="Replication   lag on the primary database")
    name = war_rooms.room_name(incident)
    assert len(name) == war_rooms.NAME_LIMIT
    assert name.startswith("#12 Replication lag")
    assert name.endswith("…")


@pytest.mark.django_db(transaction=True)
def test_the_page_asks_whom_else_to_invite_and_opens_the_room(world, client):
    war_rooms_on(world)
    incident = notified(world, "alice")
    client.force_login(world.users["bob"])
    url = f"/incidents/{incident.public_id}/actions/{KEY}/"
    assert f'href="{url}"' in client.get(f"/incidents/{incident.public_id}/").content.decode()
    assert 'name="people"' in client.get(url).content.decode()

    response = client.post(url, {"people": [world.users["carol"].pk]})

    assert response.status_code == 302
    room = the_room(incident)
    assert room.requested_via == ActionSource.WEB
    group = scene_group(room)
    # Bob asked (the owner), Alice was notified, Carol was chosen.
    assert group.owner_user_id == user_id_of("bob")
    assert sorted(group.member_user_ids) == sorted(user_id_of(n) for n in ("alice", "bob", "carol"))
    page = client.get(f"/incidents/{incident.public_id}/").content.decode()
    assert war_rooms.group_link(world.app, group.open_conversation_id).replace("&", "&amp;") in page


@pytest.mark.django_db(transaction=True)
def test_a_later_level_invites_its_people_to_the_open_room(world):
    from integrations.dingtalk.platform import DingTalkPlatform
    from oncall.models import EscalationLevel

    war_rooms_on(world)
    incident = notified(world, "alice")
    offers.run_action(incident, KEY, Actor(world.users["alice"], ActionSource.WEB))
    room = the_room(incident)
    assert scene_group(room).member_user_ids == [user_id_of("alice")]
    level = EscalationLevel.objects.create(rule=world.rule, position=2, escalate_after_minutes=5)

    DingTalkPlatform().notify(incident, world.rule, level, [world.users["dave"]])

    assert scene_group(room).member_user_ids == [user_id_of("alice"), user_id_of("dave")]
    assert set(room.invited_people.all()) == {world.users["alice"], world.users["dave"]}
    invited = incident.timeline.filter(kind=TimelineEntry.Kind.WAR_ROOM).order_by("pk").last()
    assert invited.message == "Invited to the war room: Dave."
    # Dave's card went to him as well: the room's card and his own.
    assert len(cards_to("dave")) == 1


@pytest.mark.django_db(transaction=True)
def test_the_sandbox_shows_the_room_as_the_apps_war_room_with_its_cards(world, client):
    war_rooms_on(world)
    incident = notified(world, "alice")
    offers.run_action(incident, KEY, Actor(world.users["alice"], ActionSource.WEB))
    group = scene_group(the_room(incident))

    home = client.get("/sandbox/dingtalk/").content.decode()
    cards = client.get(war_rooms.group_link(world.app, group.open_conversation_id))

    assert f"War room of {world.sandbox_app.name}" in home
    assert cards.status_code == 200
    assert [c["card"].group for c in cards.context["cards"]] == [group]
