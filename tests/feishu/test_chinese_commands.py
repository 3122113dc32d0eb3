"""Chat commands in Chinese words, answered in the card language (the app's, or the channel's
of the incident whose card the message replies to)."""

from __future__ import annotations

from itertools import count

import pytest
from django.utils import timezone, translation

from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.models import CardDelivery, LinkedAccount, SentCard
from oncall.models import Incident
from tests.factories import (
    ChannelFactory,
    FeishuAppFactory,
    FeishuChatFactory,
    IncidentFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

Status = Incident.Status
_ids = count(1)


@pytest.fixture
def app():
    return FeishuAppFactory(name="Ops", card_language="zh-hans")


@pytest.fixture
def alice(app):
    user = UserFactory(username="alice", first_name="Alice")
    LinkedAccount.objects.create(user=user, app=app, open_id="ou_alice")
    return user


@pytest.fixture
def incident(alice):
    channel = ChannelFactory(name="数据库")
    channel.members.add(alice)
    return IncidentFactory(channel=channel, title="磁盘已满")


def say(app, text, *, parent_id="") -> str:
    message = IncomingMessage(
        message_id=f"om_zh{next(_ids)}",
        chat_id="oc_chat",
        chat_type="p2p",
        sender_open_id="ou_alice",
        text=text,
        parent_id=parent_id,
    )
    with translation.override("en"):  # whatever the worker's language, the card's counts
        return chat_commands.answer(app, message)


def fresh(incident: Incident) -> Incident:
    incident.refresh_from_db()
    return incident


def test_帮助_answers_the_help_in_the_card_language(app):
    text = say(app, "帮助")

    assert text.startswith("我是 Ops 的值班机器人。")
    assert "认领 N（或 claim N）" in text  # noqa: RUF001


def test_help_in_english_words_is_answered_in_the_card_language_too(app):
    assert say(app, "help").startswith("我是 Ops 的值班机器人。")


def test_an_english_app_answers_chinese_words_in_english(app, alice, incident):
    app.card_language = "en"
    app.save()

    assert say(app, f"认领 {incident.number}") == f"#{incident.number} Claimed by Alice"


def test_列表_lists_the_open_incidents(app, incident):
    assert f"#{incident.number}" in say(app, "列表")
    assert "磁盘已满" in say(app, "列表")


def test_列表_says_so_when_nothing_is_open(app, alice):
    assert say(app, "列表") == "你所在的协作空间没有未关闭的故障。"


def test_认领_claims(app, incident):
    assert say(app, f"认领 {incident.number}") == f"#{incident.number} Alice 已认领"
    assert fresh(incident).status == Status.ACKNOWLEDGED


def test_取消认领_unclaims(app, incident):
    say(app, f"认领 {incident.number}")

    assert say(app, f"取消认领 {incident.number}").startswith(
        f"#{incident.number} Alice 取消了认领"
    )
    assert fresh(incident).status == Status.TRIGGERED


@pytest.mark.parametrize("word", ["暂缓", "暂停"])
def test_暂缓_and_暂停_snooze(app, incident, word):
    answer = say(app, f"{word} {incident.number} 2h")

    assert answer == f"#{incident.number} Alice 暂缓通知 2 小时"
    assert fresh(incident).snoozed_until > timezone.now()


def test_暂缓_without_a_duration_explains_itself_in_chinese(app, incident):
    assert say(app, f"暂缓 {incident.number}").startswith("发送“暂缓 N 2h”")


def test_唤醒_wakes(app, incident):
    say(app, f"暂缓 {incident.number} 1h")

    assert say(app, f"唤醒 {incident.number}") == f"#{incident.number} Alice 唤醒了故障"
    assert fresh(incident).snoozed_until is None


def test_关闭_closes(app, incident):
    assert say(app, f"关闭 {incident.number}") == f"#{incident.number} Alice 已关闭"
    assert fresh(incident).status == Status.CLOSED


@pytest.mark.parametrize("word", ["重新打开", "重开"])
def test_重新打开_and_重开_reopen(app, incident, word):
    say(app, f"关闭 {incident.number}")

    assert say(app, f"{word} {incident.number}") == f"#{incident.number} Alice 重新打开"
    assert fresh(incident).status == Status.TRIGGERED


def test_an_unknown_number_is_answered_in_chinese(app, alice):
    assert say(app, "认领 999") == "没有你可见的故障 #999。"


def test_a_reply_to_a_card_answers_in_the_channels_card_language(app, incident):
    incident.channel.card_language = "en"
    incident.channel.save()
    chat = FeishuChatFactory(app=app)
    delivery = CardDelivery.objects.create(incident=incident, app=app, chat=chat, sent=1)
    now = timezone.now()
    SentCard.objects.create(delivery=delivery, message_id="om_card", sent_at=now, updated_at=now)

    assert say(app, "认领", parent_id="om_card") == f"#{incident.number} Claimed by Alice"


def test_值班_answers_in_the_card_language_not_the_consoles(app, alice, settings):
    settings.LANGUAGE_CODE = "en"

    assert say(app, "值班").startswith("没有与你相关的值班排班")
