"""War rooms without Feishu: what the offer costs and when it is offered, the room's name and
link, its refusals in words, and the rule option in the API and the admin (against the sandbox:
``tests/feishu/sandbox/test_war_rooms.py`` and ``test_war_room_refusals_and_pins.py``)."""

from __future__ import annotations

import pytest
from django.utils import translation

from integrations.dingtalk import war_rooms as dingtalk_war_rooms
from integrations.feishu import war_rooms
from integrations.feishu.client import errors
from integrations.feishu.escalation_targets import war_room_option
from integrations.feishu.models import LinkedAccount, Platform, WarRoom
from oncall import offers
from oncall.models import TimelineEntry
from oncall.timeline import Actor, record
from oncall.timeline_messages import phrase
from tests.factories import (
    ESCALATION_RULE_PERMISSIONS,
    ChannelFactory,
    FeishuAppFactory,
    IncidentFactory,
    UserFactory,
    api_as,
    staff_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def app():
    return FeishuAppFactory(war_room_enabled=True)


@pytest.fixture
def alice():
    return UserFactory(username="alice", first_name="Alice")


@pytest.fixture
def incident(alice):
    channel = ChannelFactory(name="Databases")
    channel.members.add(alice)
    return IncidentFactory(channel=channel, title="Replication lag", severity="critical")


def test_the_name_is_the_number_and_title_within_feishus_limit(incident):
    assert war_rooms.room_name(incident) == f"#{incident.number} Replication lag"
    incident.title = "Replication lag " * 10
    name = war_rooms.room_name(incident)
    assert len(name) == war_rooms.NAME_LIMIT
    assert name.startswith(f"#{incident.number} Replication lag Replication")
    assert name.endswith("…")


def test_the_link_is_the_platforms_applink():
    feishu = FeishuAppFactory.build(platform=Platform.FEISHU)
    lark = FeishuAppFactory.build(platform=Platform.LARK)
    assert war_rooms.chat_link(feishu, "oc_1").startswith("https://applink.feishu.cn/")
    assert war_rooms.chat_link(lark, "oc_1") == (
        "https://applink.larksuite.com/client/chat/open?openChatId=oc_1"
    )


def test_without_an_app_with_war_rooms_nothing_is_offered(incident):
    FeishuAppFactory(war_room_enabled=False)
    assert offers.incident_actions(incident) == []
    assert offers.incident_links(incident) == []


def test_without_an_app_with_war_rooms_the_offer_costs_no_query(
    incident, django_assert_num_queries
):
    FeishuAppFactory(war_room_enabled=False)
    offer = war_rooms.WarRoomOffers()
    war_rooms.apps_in_use()  # counted once, then kept
    with django_assert_num_queries(0):
        assert (offer.links(incident), offer.actions(incident)) == ([], [])


def test_with_one_app_with_war_rooms_the_offer_reads_the_room_only(
    app, incident, django_assert_num_queries
):
    offer = war_rooms.WarRoomOffers()
    war_rooms.apps_in_use()  # counted once, then kept
    with django_assert_num_queries(1):
        assert [action.key for action in offer.actions(incident)] == ["war_room"]
    with django_assert_num_queries(1):
        assert offer.links(incident) == []


def test_with_several_apps_the_delivering_one_opens_the_room(app, incident):
    from tests.factories import EscalationRuleFactory

    other = FeishuAppFactory(war_room_enabled=True)
    assert offers.incident_actions(incident) == []  # no rule chooses either
    rule = EscalationRuleFactory(channel=incident.channel, feishu_app=other)
    incident.escalation_rule = rule
    incident.save()
    assert [action.key for action in offers.incident_actions(incident)] == ["war_room"]
    assert war_rooms.app_for(incident) == other


def test_turning_war_rooms_on_or_off_is_seen_at_once(incident):
    app = FeishuAppFactory(war_room_enabled=False)
    app.war_room_enabled = True
    app.save()
    assert [a.key for a in offers.incident_actions(incident)] == ["war_room"]
    app.enabled = False
    app.save()
    assert offers.incident_actions(incident) == []
    app.enabled = True
    app.save()
    app.delete()
    assert offers.incident_actions(incident) == []


def test_an_emptied_cache_is_counted_again_from_the_database(
    app, incident, django_assert_num_queries
):
    from django.core.cache import cache

    cache.clear()
    dingtalk_war_rooms.apps_in_use()  # DingTalk's count (apps with a group template), kept
    with django_assert_num_queries(2):  # the apps counted again, the room
        assert [a.key for a in offers.incident_actions(incident)] == ["war_room"]
    with django_assert_num_queries(1):  # the room
        assert [a.key for a in offers.incident_actions(incident)] == ["war_room"]


def test_a_merged_incident_offers_no_room(app, incident):
    target = IncidentFactory(channel=incident.channel)
    incident.merged_into = target
    incident.save()
    assert offers.incident_actions(incident) == []


def test_the_room_is_read_once_for_the_link_and_the_action(
    app, incident, alice, django_assert_num_queries
):
    from integrations.feishu.models import FeishuChat
    from oncall.models import Incident

    chat = FeishuChat.objects.create(app=app, chat_id="oc_room", name="#1")
    WarRoom.objects.create(incident=incident, app=app, state=WarRoom.State.OPEN, chat=chat)
    loaded = war_rooms.prefetch_rooms(Incident.objects.filter(pk=incident.pk)).get()
    offer = war_rooms.WarRoomOffers()
    with django_assert_num_queries(0):
        assert [link.key for link in offer.links(loaded)] == ["war_room"]
        assert offer.actions(loaded) == []


def test_the_rule_option_is_set_and_shown_through_the_api(channel):
    staff_api = api_as(staff_user("root", *ESCALATION_RULE_PERMISSIONS))
    response = staff_api.post(
        "/api/v1/escalation-rules/",
        {
            "channel": str(channel.public_id),
            "name": "Critical",
            "position": 1,
            "levels": [{"notify_channel_members": True}],
            "feishu_war_room": "critical",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["feishu_war_room"] == "critical"
    from oncall.models import EscalationRule

    rule = EscalationRule.objects.get(public_id=response.json()["id"])
    assert war_room_option(rule) == "critical"
    url = f"/api/v1/escalation-rules/{rule.public_id}/"
    assert staff_api.patch(url, {"feishu_war_room": ""}, format="json").status_code == 200
    rule.refresh_from_db()
    assert war_room_option(rule) == ""
    bad = staff_api.patch(url, {"feishu_war_room": "sometimes"}, format="json")
    assert bad.status_code == 400


def test_the_admin_lists_rooms_and_the_rule_form_has_the_option(admin_client, app, incident):
    WarRoom.objects.create(
        incident=incident, app=app, state=WarRoom.State.FAILED, last_error="No scope."
    )
    listing = admin_client.get("/admin/integrations/warroom/").content.decode()
    assert "failed" in listing
    room = WarRoom.objects.get()
    detail = admin_client.get(f"/admin/integrations/warroom/{room.pk}/change/").content.decode()
    assert "No scope." in detail
    form = admin_client.get("/admin/oncall/escalationrule/add/").content.decode()
    assert 'name="feishu_war_room"' in form
    assert "for critical incidents" in form


def test_it_speaks_chinese(app, incident):
    with translation.override("zh-hans"):
        assert [a.label for a in offers.incident_actions(incident)] == ["创建作战室"]
        refusal = war_rooms.explain(errors.PermanentError("scope", code=99991672))
        assert refusal.startswith("飞书应用缺少创建群聊所需的权限")


# --- Who could not be invited, in each reader's language --------------------------------------


class MembersClient:
    """The client's one call ``invite`` makes: Feishu lists the ids it could not add."""

    def __init__(self, not_added: list[str]):
        self.not_added = not_added

    def add_chat_members(self, chat_id: str, open_ids: list[str]) -> list[str]:
        return [open_id for open_id in open_ids if open_id in self.not_added]


def said(entry: TimelineEntry, language: str) -> str:
    with translation.override(language):
        return entry.text


def test_it_says_why_a_war_room_could_not_invite_someone_in_each_readers_language(app, incident):
    app.name = "Ops bot"
    alice, carol, dave = (UserFactory(username=n, first_name=n.title()) for n in ("a", "c", "d"))
    LinkedAccount.objects.create(user=alice, app=app, open_id="ou_alice")
    LinkedAccount.objects.create(user=dave, app=app, open_id="ou_dave")  # carol: no account

    invitation = war_rooms.invite(MembersClient(["ou_dave"]), app, "oc_1", [alice, carol, dave])
    message = phrase("war_room.opened", chat="#1 Lag", people=invitation.described())
    entry = record(incident, TimelineEntry.Kind.WAR_ROOM, Actor.system(), message)

    assert invitation.user_ids == {alice.pk: "ou_alice"}
    assert said(entry, "en") == (
        "War room “#1 Lag” opened; invited A; not invited: C (no linked Feishu account in "
        "Ops bot), D (outside the app's availability, or unknown to Feishu)."
    )
    assert entry.message == said(entry, "en")  # the stored English, for exports and search
    chinese = said(entry, "zh-hans")
    assert "C（在 Ops bot 中没有关联的飞书账号）" in chinese  # noqa: RUF001
    assert "D（不在应用的可见范围内，或飞书中没有此人）" in chinese  # noqa: RUF001


def test_a_refusal_stored_in_english_before_it_was_a_phrase_still_shows(incident):
    older = phrase(
        "war_room.opened",
        chat="#1 Lag",
        people=phrase("invited.refused", people=["A"], refused=["C (no linked Feishu account)"]),
    )
    entry = record(incident, TimelineEntry.Kind.WAR_ROOM, Actor.system(), older)
    entry = TimelineEntry.objects.get(pk=entry.pk)  # as a page reads it

    assert "C (no linked Feishu account)" in said(entry, "zh-hans")
