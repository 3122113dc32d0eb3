"""Shift-start notices through Feishu, against the sandbox on a live server: the beat task tells
the person whose shift starts soon, in a direct message to their linked account, once."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone, translation

from integrations.feishu import tasks as feishu_tasks
from integrations.feishu_sandbox.models import SandboxMessage
from oncall import tasks
from oncall.models import ScheduleOverride, ShiftNotice
from tests.factories import FeishuAppFactory, ScheduleFactory, UserFactory
from tests.feishu.sandbox.world import link
from tests.workers import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(console_app, sandbox_app, sandbox_people, live_server, settings):
    settings.SCHEDULE_NOTICE_MINUTES = 30
    users = {}
    for key in ("alice", "bob"):
        users[key] = UserFactory(username=key, first_name=key.title())
    link(users["alice"], console_app, sandbox_app, sandbox_people["alice"])
    schedule = ScheduleFactory(name="SRE primary", time_zone="Asia/Shanghai")
    return {"users": users, "people": sandbox_people, "schedule": schedule}


def texts_to(person) -> list[str]:
    return [
        json.loads(m.content)["text"]
        for m in SandboxMessage.objects.filter(user=person, msg_type="text", sender=None)
    ]


def starting_in(world, user, minutes: int) -> ScheduleOverride:
    start = timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=minutes)
    return ScheduleOverride.objects.create(
        schedule=world["schedule"], user=user, start=start, end=start + timedelta(hours=2)
    )


def test_the_person_whose_shift_starts_soon_gets_one_direct_message(world):
    starting_in(world, world["users"]["alice"], 20)

    assert tasks.send_shift_notices() == 1
    assert tasks.send_shift_notices() == 0  # the next minute's run

    alice = world["people"]["alice"]
    wait_for(lambda: len(texts_to(alice)) == 1, "the notice in Alice's direct chat")
    [text] = texts_to(alice)
    assert text.startswith("You are on call for SRE primary from ")
    assert " until " in text
    assert text.endswith("(Asia/Shanghai).")
    assert ShiftNotice.objects.get().outcome == "Sent to Alice."


def test_a_send_retried_with_the_same_key_posts_once(world, console_app):
    alice = world["people"]["alice"]
    account = world["users"]["alice"].feishu_accounts.get()
    for _ in range(2):
        feishu_tasks.send_notice(
            console_app.pk, account.open_id, "On call soon", "oncall-shift-1-1"
        )
    assert texts_to(alice) == ["On call soon"]


def test_a_person_without_a_linked_account_is_recorded_as_not_reachable(world):
    starting_in(world, world["users"]["bob"], 10)
    FeishuAppFactory(enabled=False)  # a disabled app reaches nobody either

    assert tasks.send_shift_notices() == 1

    notice = ShiftNotice.objects.get()
    assert notice.outcome == "Not reachable: Bob (no linked Feishu account)."
    with translation.override("zh-hans"):
        assert notice.outcome_text == "无法联系：Bob（没有关联的飞书账号）。"  # noqa: RUF001
    assert not SandboxMessage.objects.filter(msg_type="text").exists()
