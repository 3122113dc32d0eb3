"""Feishu's part of escalation rules: the app that delivers a rule's cards, and the chats of a
level (``integrations.feishu.escalation_targets``)."""

from __future__ import annotations

import pytest

from integrations.feishu import escalation_targets
from integrations.feishu.escalation_targets import FeishuTargets
from tests.factories import FeishuAppFactory, FeishuChatFactory

pytestmark = pytest.mark.django_db


def test_it_delivers_through_the_chosen_or_the_only_enabled_app(channel):
    default = channel.escalation_rules.get()
    assert escalation_targets.delivering_app(default) is None  # no app at all
    only = FeishuAppFactory()
    FeishuAppFactory(enabled=False)
    assert escalation_targets.delivering_app(default) == only
    second = FeishuAppFactory()
    assert escalation_targets.delivering_app(default) is None  # two enabled: the rule chooses
    FeishuTargets().save(default, {"feishu_app": second}, [])
    default.refresh_from_db()
    assert escalation_targets.delivering_app(default) == second


def test_it_refuses_chats_of_another_app_than_the_delivering_one(channel):
    app = FeishuAppFactory()
    rule = channel.escalation_rules.get()
    own, foreign = FeishuChatFactory(app=app), FeishuChatFactory(name="Elsewhere")

    errors = FeishuTargets().validate(
        rule, {"feishu_app": app}, [{"chats": [own]}, {"chats": [foreign]}]
    )

    assert list(errors) == [1]
    assert "Elsewhere belong to another Feishu app" in str(errors[1]["chats"][0])
