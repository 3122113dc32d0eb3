"""Shift-start notices (``oncall.schedules.notices``): who is told, when, once, in which words.
The Feishu direct message itself is tested against the sandbox
(``tests/feishu/sandbox/test_shift_notices_e2e.py``)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from oncall import tasks
from oncall.celery import CORE_SCHEDULE
from oncall.celery import app as celery_app
from oncall.models import ScheduleOverride, ShiftNotice
from oncall.platforms import LevelReport, PlatformBase, person_name
from oncall.schedules import notices
from tests.concurrency import race
from tests.factories import ScheduleFactory, ScheduleLayerFactory, UserFactory

pytestmark = pytest.mark.django_db

# The URLconf and Celery's beat schedule take the installed platforms when first built: built
# here, with the console's platforms, before a fixture swaps them for the test's own, so that
# later tests (and this module's admin pages) find Feishu's URLs and periodic tasks.
importlib.import_module(settings.ROOT_URLCONF)
assert celery_app.conf.beat_schedule

sent_notices: list[tuple[list[str], str, str]] = []


class NoticePlatform(PlatformBase):
    """Records every notice; Dave has no account on it."""

    name = "notices"

    def send_notice(self, people: list[Any], text: str, *, key: str) -> LevelReport:
        sent_notices.append(([user.username for user in people], text, key))
        reached = [person_name(u) for u in people if u.username != "dave"]
        return LevelReport(
            reached, [f"{person_name(u)} (no account)" for u in people if u.username == "dave"]
        )


@pytest.fixture(autouse=True)
def _recording(settings):
    settings.CHAT_PLATFORMS = ["tests.test_shift_notices.NoticePlatform"]
    settings.SCHEDULE_NOTICE_MINUTES = 30
    sent_notices.clear()


@pytest.fixture
def people():
    return {
        name: UserFactory(username=name, first_name=name.title())
        for name in ("alice", "bob", "dave")
    }


@pytest.fixture
def primary(people):
    """Europe/Berlin, daily hand-offs at 18:00 from Monday 2026-01-05: alice, bob."""
    schedule = ScheduleFactory(name="SRE primary", time_zone="Europe/Berlin")
    ScheduleLayerFactory(
        schedule=schedule,
        people=[people["alice"], people["bob"]],
        handoff_time=time(18),
        rotation_unit="days",
    )
    return schedule


# Bob's turn starts Tuesday 2026-01-06 18:00 in Berlin (17:00 UTC), until Wednesday 18:00.
BOBS_START = datetime(2026, 1, 6, 17, tzinfo=UTC)


def test_a_notice_goes_out_within_the_lead_time_and_not_before(primary):
    assert notices.send_due(BOBS_START - timedelta(minutes=31)) == 0
    assert notices.send_due(BOBS_START - timedelta(minutes=30)) == 1

    assert sent_notices == [
        (
            ["bob"],
            "You are on call for SRE primary from 18:00 until Wed 18:00 (Europe/Berlin).",
            f"oncall-shift-{ShiftNotice.objects.get().pk}",
        )
    ]
    notice = ShiftNotice.objects.get()
    assert (notice.user.username, notice.shift_start) == ("bob", BOBS_START)
    assert notice.outcome == "Sent to Bob."


def test_each_shift_start_is_noticed_once_however_often_the_task_runs(primary):
    for minutes in (30, 29, 20, 1, 0):
        notices.send_due(BOBS_START - timedelta(minutes=minutes))
    assert [people for people, _, _ in sent_notices] == [["bob"]]


def test_a_run_overlapping_another_finds_the_notice_given(primary, people):
    # The other run inserted its row first (and is sending): this one gives nothing.
    ShiftNotice.objects.create(schedule=primary, user=people["bob"], shift_start=BOBS_START)
    assert notices.send_due(BOBS_START - timedelta(minutes=10)) == 0
    assert sent_notices == []


def test_a_shift_that_just_started_unnoticed_is_noticed_late_within_the_grace(primary):
    assert notices.send_due(BOBS_START + timedelta(minutes=5)) == 1
    assert notices.send_due(BOBS_START + timedelta(hours=2)) == 0  # nobody else starts
    assert len(sent_notices) == 1


def test_a_continuation_of_the_same_persons_shift_is_no_new_start(primary, people):
    # Bob takes the evening before his turn as an override: his time on call starts at 16:00
    # and goes on into his turn at 18:00 without a break.
    ScheduleOverride.objects.create(
        schedule=primary,
        user=people["bob"],
        start=BOBS_START - timedelta(hours=2),
        end=BOBS_START,
    )

    notices.send_due(BOBS_START - timedelta(hours=2, minutes=20))
    notices.send_due(BOBS_START - timedelta(minutes=20))

    assert [text for _, text, _ in sent_notices] == [
        "You are on call for SRE primary from 16:00 until Wed 18:00 (Europe/Berlin)."
    ]


def test_an_override_start_is_noticed_and_the_unreachable_recorded(primary, people):
    ScheduleOverride.objects.create(
        schedule=primary,
        user=people["dave"],
        start=BOBS_START + timedelta(hours=3),
        end=BOBS_START + timedelta(hours=5),
    )

    notices.send_due(BOBS_START + timedelta(hours=2, minutes=45))

    assert sent_notices[-1][:2] == (
        ["dave"],
        "You are on call for SRE primary from 21:00 until 23:00 (Europe/Berlin).",
    )
    notice = ShiftNotice.objects.get(user=people["dave"])
    assert notice.outcome == "Not reachable: Dave (no account)."


def test_the_text_is_in_the_consoles_language(primary, settings):
    settings.LANGUAGE_CODE = "zh-hans"
    notices.send_due(BOBS_START - timedelta(minutes=5))
    chinese = "你将于 18:00 起在 SRE primary 值班，直到 星期三 18:00（Europe/Berlin）。"  # noqa: RUF001
    assert sent_notices[0][1] == chinese


def test_a_shift_lasting_past_the_horizon_says_no_end(people):
    schedule = ScheduleFactory(name="Solo", time_zone="Asia/Shanghai")
    ScheduleLayerFactory(
        schedule=schedule, people=[people["alice"]], start_date=datetime(2026, 1, 5).date()
    )
    first_turn = datetime(2026, 1, 5, 1, tzinfo=UTC)  # 09:00 +08:00, and every week alice again
    notices.send_due(first_turn - timedelta(minutes=15))
    assert sent_notices[0][1] == "You are on call for Solo from 09:00 (Asia/Shanghai)."


def test_no_notices_when_the_lead_time_is_0(primary, settings):
    settings.SCHEDULE_NOTICE_MINUTES = 0
    assert notices.send_due(BOBS_START - timedelta(minutes=5)) == 0
    assert sent_notices == []


def test_old_notices_are_purged(primary, people):
    ShiftNotice.objects.create(
        schedule=primary, user=people["alice"], shift_start=BOBS_START - timedelta(days=40)
    )
    notices.send_due(BOBS_START - timedelta(minutes=5))
    assert list(ShiftNotice.objects.values_list("user__username", flat=True)) == ["bob"]


def test_beat_runs_the_task_every_minute(primary, monkeypatch):
    assert CORE_SCHEDULE["send-shift-notices"] == {
        "task": "oncall.tasks.send_shift_notices",
        "schedule": 60.0,
    }
    monkeypatch.setattr(notices.timezone, "now", lambda: BOBS_START - timedelta(minutes=1))
    assert tasks.send_shift_notices() == 1


def test_the_admin_lists_the_notices_with_their_outcome(primary, admin_client):
    notices.send_due(BOBS_START - timedelta(minutes=5))
    page = admin_client.get(reverse("admin:oncall_shiftnotice_changelist"))
    assert "Sent to Bob." in page.content.decode()
    chinese = admin_client.get(
        reverse("admin:oncall_shiftnotice_changelist"), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    assert "已发送给 Bob。" in chinese.content.decode()
    assert admin_client.get(reverse("admin:oncall_shiftnotice_add")).status_code == 403


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_the_same_moment_give_each_notice_once(primary, people):
    def run() -> int:
        return notices.send_due(BOBS_START - timedelta(minutes=10))

    for round_ in range(5):
        ShiftNotice.objects.all().delete()
        sent_notices.clear()

        given = race(run, run)

        assert sorted(given) == [0, 1], (round_, given)
        assert [who for who, _, _ in sent_notices] == [["bob"]]
        assert ShiftNotice.objects.count() == 1


def test_a_notice_no_platform_could_give_says_so_in_each_readers_language(primary, settings):
    settings.CHAT_PLATFORMS = []

    notices.send_due(BOBS_START - timedelta(minutes=5))

    notice = ShiftNotice.objects.get()
    assert notice.outcome == "No chat platform could reach this person."
    with translation.override("zh-hans"):
        assert notice.outcome_text == "没有聊天平台能联系到此人。"


def test_a_notice_given_before_outcomes_had_a_kind_shows_its_stored_words(primary, people):
    notice = ShiftNotice.objects.create(
        schedule=primary, user=people["bob"], shift_start=BOBS_START, outcome="Sent to Bob."
    )
    with translation.override("zh-hans"):
        assert notice.outcome_text == "Sent to Bob."
