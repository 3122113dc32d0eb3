"""War rooms without Feishu: what the offer costs and when it is offered, the room's name and
link, its refusals in words, and the rule option in the API and the admin (against the sandbox:
``tests/feishu/sandbox/test_war_rooms.py`` and ``test_war_room_refusals_and_pins.py``)."""

from __future__ import annotations

import pytest

from integrations.dingtalk import war_rooms as dingtalk_war_rooms
from integrations.feishu import war_rooms
from integrations.feishu.client import errors
from integrations.feishu.escalation_targets import war_room_option
from integrations.feishu.models import Platform, WarRoom
from oncall import offers
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
    from django.utils import translation

    with translation.override("zh-hans"):
        assert [a.label for a in offers.incident_actions(incident)] == ["创建作战室"]
        refusal = war_rooms.explain(errors.PermanentError("scope", code=99991672))
        assert refusal.startswith("飞书应用缺少创建群聊所需的权限")
