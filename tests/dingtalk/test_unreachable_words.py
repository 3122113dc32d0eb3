# ruff: noqa: RUF001 (Chinese punctuation in the expected Chinese text)
"""Why DingTalk could not reach someone, on the timeline in each reader's language: a level's
group when no app delivers the rule, and the people a war room could not invite."""

from __future__ import annotations

import pytest
from django.utils import translation

from integrations.dingtalk import war_rooms
from integrations.dingtalk.cards.delivery import client_for
from integrations.dingtalk.models import DingTalkAccount
from integrations.dingtalk.platform import DingTalkPlatform
from oncall.models import TimelineEntry
from oncall.platforms import describe_notified
from oncall.timeline import Actor, record
from oncall.timeline_messages import phrase
from tests.dingtalk.factories import DingTalkAppFactory, DingTalkGroupFactory
from tests.factories import (
    EscalationLevelFactory,
    EscalationRuleFactory,
    IncidentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def said(entry: TimelineEntry, language: str) -> str:
    with translation.override(language):
        return entry.text


def test_it_says_no_app_delivers_the_rule_in_each_readers_language():
    app = DingTalkAppFactory(name="Ops DingTalk")
    DingTalkAppFactory()  # two apps and none chosen on the rule: nobody delivers it
    group = DingTalkGroupFactory(app=app, name="SRE")
    incident = IncidentFactory()
    rule = EscalationRuleFactory(channel=incident.channel)
    level = EscalationLevelFactory(rule=rule)
    level.dingtalk_targets.create(group=group)

    report = DingTalkPlatform().notify(incident, rule, level, [])
    entry = record(incident, TimelineEntry.Kind.NOTIFIED, Actor.system(), describe_notified(report))

    assert report.unreachable == ["SRE (no DingTalk app delivers the rule)"]
    assert (
        said(entry, "en")
        == "notified nobody; not reachable: SRE (no DingTalk app delivers the rule)"
    )
    assert said(entry, "zh-hans") == "已通知 无人；无法联系：SRE（没有钉钉应用投递此规则）"


def test_it_says_why_a_war_room_could_not_invite_someone_in_each_readers_language():
    app = DingTalkAppFactory(name="Ops DingTalk")
    dave = UserFactory(username="dave", first_name="Dave")  # no linked account
    erin = UserFactory(username="erin", first_name="Erin")
    DingTalkAccount.objects.create(
        user=erin, app=app, union_id="union-erin"
    )  # no userid, no mobile
    incident = IncidentFactory()

    invitation = war_rooms.invitation_for(client_for(app), app, [dave, erin])
    message = phrase("war_room.invited", people=invitation.described())
    entry = record(incident, TimelineEntry.Kind.WAR_ROOM, Actor.system(), message)

    assert invitation.user_ids == {}
    english, chinese = said(entry, "en"), said(entry, "zh-hans")
    assert "Dave (no linked DingTalk account in Ops DingTalk)" in english
    assert "Erin (linked without a userid, and no mobile number on the link)" in english
    assert "Dave（在 Ops DingTalk 中没有关联的钉钉账号）" in chinese
    assert "Erin（已关联但没有 userid，关联上也没有手机号）" in chinese
