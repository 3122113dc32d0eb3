"""The bot's ``oncall`` / ``值班`` command (``integrations.feishu.inbound.schedule_commands``),
through ``chat_commands.answer`` as the message task calls it; the sandbox flow (a message to the
bot, the reply in Feishu) is in ``tests/feishu/sandbox/test_chat_commands_flow.py``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from itertools import count

import pytest
from django.utils import timezone

from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.inbound.identity import how_to_link
from integrations.feishu.models import LinkedAccount
from oncall.models import EscalationLevel
from tests.factories import (
    ChannelFactory,
    EscalationRuleFactory,
    FeishuAppFactory,
    ScheduleFactory,
    ScheduleLayerFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

_ids = count(1)
# Tuesday 2026-01-06 14:00 in Shanghai.
TUESDAY_AFTERNOON = datetime(2026, 1, 6, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _clock(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: TUESDAY_AFTERNOON)


@pytest.fixture
def app():
    return FeishuAppFactory(name="Ops")


@pytest.fixture
def people(app):
    people = {}
    for key, first, last in [("alice", "Alice", "Chen"), ("bob", "Bob", "Li")]:
        people[key] = UserFactory(username=key, first_name=first, last_name=last)
        LinkedAccount.objects.create(user=people[key], app=app, open_id=f"ou_{key}")
    return people


@pytest.fixture
def primary(people):
    """Named by a level of Alice's channel: daily hand-offs at 09:00, Alice then Bob."""
    schedule = ScheduleFactory(name="SRE primary", time_zone="Asia/Shanghai")
    ScheduleLayerFactory(
        schedule=schedule,
        people=[people["alice"], people["bob"]],
        start_date=date(2026, 1, 5),
        handoff_time=time(9),
        rotation_unit="days",
    )
    channel = ChannelFactory(name="Databases")
    channel.members.add(people["alice"])
    level = EscalationLevel.objects.create(rule=EscalationRuleFactory(channel=channel))
    level.schedules.add(schedule)
    return schedule


def say(app, text: str, sender: str = "ou_alice") -> str:
    message = IncomingMessage(
        message_id=f"om_msg{next(_ids)}",
        chat_id="oc_chat",
        chat_type="p2p",
        sender_open_id=sender,
        text=text,
    )
    return chat_commands.answer(app, message)


def test_it_answers_who_is_on_call_now_and_next(app, primary):
    assert (
        say(app, "oncall") == "SRE primary (Asia/Shanghai): Bob Li until Wed 09:00, then Alice Chen"
    )


def test_the_chinese_word_is_the_same_command(app, primary):
    assert say(app, "值班") == say(app, "/ONCALL")


def test_it_lists_the_schedules_the_person_takes_part_in_and_says_when_nobody_is_on(
    app, people, primary
):
    evenings = ScheduleFactory(name="Evenings", time_zone="Europe/Berlin")
    ScheduleLayerFactory(
        schedule=evenings,
        people=[people["bob"]],
        start_date=date(2026, 1, 5),
        rotation_unit="weeks",
        restrictions=[{"days": [0, 1, 2, 3, 4], "start": "18:00", "end": "22:00"}],
    )
    ScheduleFactory(name="Empty")  # concerns nobody: not listed

    # Bob is in no channel, but in SRE primary's layer and in Evenings.
    assert say(app, "oncall", sender="ou_bob").splitlines() == [
        "Evenings (Europe/Berlin): nobody now, next Bob Li from 18:00",
        "SRE primary (Asia/Shanghai): Bob Li until Wed 09:00, then Alice Chen",
    ]


def test_a_schedule_with_nobody_in_the_horizon_says_so(app, people, primary):
    empty = ScheduleFactory(name="DB secondary", time_zone="Asia/Shanghai")
    primary.escalation_levels.get().schedules.add(empty)

    assert say(app, "oncall").splitlines() == [
        "DB secondary (Asia/Shanghai): nobody now or in the next 14 days",
        "SRE primary (Asia/Shanghai): Bob Li until Wed 09:00, then Alice Chen",
    ]


def test_a_person_without_schedules_gets_a_helpful_answer(app, people):
    answer = say(app, "oncall")
    assert answer.startswith("No on-call schedules concern you:")
    assert "An admin adds schedules to a level under Escalation rules." in answer


def test_an_unlinked_sender_is_told_how_to_link(app, primary):
    assert say(app, "oncall", sender="ou_stranger") == how_to_link(app)


def test_the_answer_is_in_the_consoles_language(app, primary, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    chinese = "SRE primary（Asia/Shanghai）：Bob Li 值班至 星期三 09:00，然后是 Alice Chen"  # noqa: RUF001
    assert say(app, "值班") == chinese


def test_the_help_text_lists_the_command(app):
    assert "oncall (or 值班): who is on call now and next" in say(app, "help")
