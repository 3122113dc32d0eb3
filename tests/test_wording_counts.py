"""Counts and times in words, on the admin and the responder pages: "1 chat" / "2 chats",
"just now" rather than "0 minutes ago", and no "escalate after" on a level with no next level."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone, translation

from integrations.feishu.chats import SyncResult
from oncall.models import EscalationLevel, EscalationRule
from oncall.wording import ago
from tests.factories import (
    ChannelFactory,
    EscalationLevelFactory,
    EscalationRuleFactory,
    FeishuAppFactory,
    FeishuChatFactory,
    IncidentFactory,
    UserFactory,
)

NOW = timezone.now()


@pytest.mark.parametrize(
    ("before", "words"),
    [
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=-20), "just now"),  # another server's clock, a little ahead
        (timedelta(minutes=1), "1 minute ago"),
        (timedelta(minutes=2, seconds=30), "2 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=5, minutes=59), "5 hours ago"),
        (timedelta(days=1), "1 day ago"),
        (timedelta(days=3), "3 days ago"),
    ],
)
def test_ago_says_just_now_and_counts_in_the_largest_unit(before, words):
    assert ago(NOW - before, NOW) == words


def test_ago_reads_in_chinese():
    with translation.override("zh-hans"):
        assert ago(NOW, NOW) == "刚刚"
        assert ago(NOW - timedelta(minutes=2), NOW) == "2 分钟前"


@pytest.mark.django_db
def test_a_new_incident_in_the_list_was_opened_just_now(client, channel, responder):
    IncidentFactory(channel=channel, title="Disk full")
    client.force_login(responder)
    page = client.get(reverse("incident-list")).content.decode()
    assert "just now" in page
    assert "0\xa0minutes" not in page
    assert "0 minutes" not in page


def test_chat_counts_have_their_plurals():
    assert str(SyncResult(0, 0, 0, 0, 1)) == "1 chat with the bot"
    assert str(SyncResult(1, 0, 0, 2, 2)) == "2 chats with the bot, 1 new, 2 no longer with the bot"


@pytest.mark.django_db
def test_the_feishu_app_page_counts_its_chats(admin_client):
    app = FeishuAppFactory()
    FeishuChatFactory(app=app)
    page = admin_client.get(reverse("admin:integrations_feishuapp_change", args=[app.pk]))
    assert "1 chat (1 active)" in page.content.decode()
    FeishuChatFactory(app=app, status="disbanded")
    page = admin_client.get(reverse("admin:integrations_feishuapp_change", args=[app.pk]))
    assert "2 chats (1 active, 1 disbanded)" in page.content.decode()


@pytest.mark.django_db
class TestLevelDescriptions:
    @pytest.fixture
    def rule(self):
        rule = EscalationRuleFactory(name="Nights")
        first = EscalationLevelFactory(rule=rule, position=0, escalate_after_minutes=15)
        first.users.add(UserFactory(username="alice", first_name="Alice"))
        EscalationLevelFactory(
            rule=rule, position=1, notify_channel_members=True, escalate_after_minutes=30
        )
        return rule

    def test_a_level_with_a_next_one_escalates_after_its_minutes(self, rule):
        first, last = rule.levels.order_by("position")
        assert first.describe() == "Notify Alice; escalate after 15 min"
        assert last.describe() == "Notify channel members"

    def test_the_last_level_of_a_rule_that_runs_again_starts_it_again(self, rule):
        rule.repeat_rule_times = 2
        rule.save()
        last = rule.levels.order_by("position").last()
        assert last.describe() == "Notify channel members; start again after 30 min"

    def test_prefetched_levels_know_which_is_last_without_a_query(
        self, rule, django_assert_num_queries
    ):
        levels = EscalationLevel.objects.prefetch_related("users", "schedules")
        (loaded,) = EscalationRule.objects.filter(pk=rule.pk).prefetch_related(
            Prefetch("levels", queryset=levels)
        )
        first, last = sorted(loaded.levels.all(), key=lambda level: level.position)
        with django_assert_num_queries(0):
            assert first.is_last() is False
            assert last.is_last() is True

    def test_it_reads_in_chinese(self, rule):
        first, last = rule.levels.order_by("position")
        with translation.override("zh-hans"):
            assert first.describe() == "通知 Alice; 15 分钟后升级"
            assert last.describe() == "通知 协作空间成员"

    def test_the_channel_page_shows_no_escalation_after_the_last_level(
        self, rule, client, responder
    ):
        rule.channel.members.add(responder)
        client.force_login(responder)
        page = client.get(reverse("channel-detail", args=[rule.channel.public_id]))
        html = page.content.decode()
        assert "Notify Alice; escalate after 15 min" in html
        assert "Notify channel members</li>" in html


@pytest.fixture
def channel(db):
    return ChannelFactory()


@pytest.fixture
def responder(channel):
    user = UserFactory(username="bob", first_name="Bob")
    channel.members.add(user)
    return user
