"""The bot's shift swap commands (``integrations.feishu.inbound.swap_commands``): ``swaps`` /
``换班`` and ``take N`` / ``接班 N``, through ``chat_commands.answer`` as the message task calls
it."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from itertools import count
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from integrations.feishu.inbound import chat_commands
from integrations.feishu.inbound.events import IncomingMessage
from integrations.feishu.models import LinkedAccount
from oncall.models import ScheduleOverride, ShiftSwap
from oncall.schedules import resolve, swaps
from tests.factories import FeishuAppFactory, ScheduleLayerFactory, UserFactory
from tests.zh_text import english_words, words_of

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
_ids = count(1)


@pytest.fixture
def app():
    return FeishuAppFactory(name="Ops")


def linked(app, username: str, first: str, last: str):
    user = UserFactory(username=username, first_name=first, last_name=last)
    LinkedAccount.objects.create(user=user, app=app, open_id=f"ou_{username}")
    return user


@pytest.fixture
def alice(app):
    return linked(app, "alice", "Alice", "Chen")


@pytest.fixture
def bob(app):
    return linked(app, "bob", "Bob", "Li")


@pytest.fixture
def schedule(alice, bob):
    """SRE primary: daily turns at 09:00 Shanghai from three days ahead, alice then bob."""
    first = timezone.now().astimezone(SHANGHAI).date() + timedelta(days=3)
    return ScheduleLayerFactory(
        schedule__name="SRE primary",
        people=[alice, bob],
        handoff_time=time(9),
        rotation_unit="days",
        start_date=first,
    ).schedule


@pytest.fixture
def request_of_alice(schedule, alice):
    shift = swaps.upcoming_shifts(schedule, alice)[0]
    return swaps.ask(schedule, alice, shift.start, shift.end, "wedding")


def say(app, text, *, sender="ou_bob") -> str:
    message = IncomingMessage(
        message_id=f"om_swap{next(_ids)}",
        chat_id="oc_chat",
        chat_type="p2p",
        sender_open_id=sender,
        text=text,
    )
    return chat_commands.answer(app, message)


def local(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize("command", ["swaps", "换班", "/SWAPS"])
def test_swaps_lists_the_requests_i_can_take_with_their_numbers(app, request_of_alice, command):
    answer = say(app, command)

    swap = request_of_alice
    assert answer.splitlines() == [
        f"#{swap.pk} SRE primary: Alice Chen, {local(swap.start)} to "
        f"{local(swap.end)} (Asia/Shanghai) “wedding”",
        "Write “take N” to take request #N.",
    ]


def test_my_own_requests_are_not_listed_to_me(app, request_of_alice):
    assert say(app, "swaps", sender="ou_alice") == "No open shift swap requests that you can take."


def test_take_puts_me_on_call_instead_of_the_requester(app, bob, request_of_alice):
    swap = request_of_alice

    answer = say(app, f"take {swap.pk}")

    assert answer.startswith(f"#{swap.pk} Taken: you are on call for SRE primary ")
    assert answer.endswith("instead of Alice Chen.")
    override = ScheduleOverride.objects.get()
    assert (override.user, override.created_by) == (bob, bob)
    assert "agreed by Bob Li" in override.note


@pytest.mark.parametrize("command", ["接班 {n}", "take #{n}"])
def test_take_in_chinese_or_with_a_hash(app, bob, request_of_alice, command):
    say(app, command.format(n=request_of_alice.pk))
    assert ShiftSwap.objects.get().taken_by == bob


def test_take_twice_says_who_was_first(app, bob, request_of_alice):
    say(app, f"take {request_of_alice.pk}")
    carol = linked(app, "carol", "Carol", "Wu")
    request_of_alice.schedule.layers.get().participants.create(user=carol, position=5)

    answer = say(app, f"take {request_of_alice.pk}", sender="ou_carol")

    assert answer.startswith(f"#{request_of_alice.pk} Already taken by Bob Li at ")
    assert ScheduleOverride.objects.count() == 1


def test_the_requester_cannot_take_their_own(app, request_of_alice):
    answer = say(app, f"take {request_of_alice.pk}", sender="ou_alice")
    assert answer == f"#{request_of_alice.pk} You cannot take your own request."


def test_a_request_i_cannot_see_is_like_none(app, request_of_alice):
    linked(app, "dave", "Dave", "Wang")
    assert (
        say(app, f"take {request_of_alice.pk}", sender="ou_dave")
        == f"No shift swap request #{request_of_alice.pk} that you can see."
    )
    assert say(app, "take 99999") == "No shift swap request #99999 that you can see."


@pytest.mark.parametrize("text", ["take", "take soon", "take 1 2"])
def test_take_without_one_number_explains_itself(app, bob, text):
    assert say(app, text) == "Write “take N” with a number from “swaps”."


def test_an_unlinked_person_is_told_how_to_link(app, request_of_alice):
    assert "not linked" in say(app, "swaps", sender="ou_nobody")
    assert "not linked" in say(app, f"take {request_of_alice.pk}", sender="ou_nobody")


def test_help_lists_the_swap_commands(app):
    help_text = say(app, "help")
    assert "swaps (or 换班): open shift swap requests you can take" in help_text
    assert "take N (or 接班 N): take shift swap request #N" in help_text


def test_a_swap_accepted_from_a_chat_command_changes_who_is_notified(
    app, schedule, alice, bob, request_of_alice
):
    middle = request_of_alice.start + timedelta(hours=12)
    assert resolve.responder(schedule, middle).user == alice

    say(app, f"接班 {request_of_alice.pk}")

    on_call = resolve.responder(schedule, middle)
    assert (on_call.user, on_call.shift.override) == (bob, ScheduleOverride.objects.get().pk)


def test_the_answers_speak_the_card_language(app, bob, request_of_alice):
    app.card_language = "zh-hans"
    app.save()
    number = request_of_alice.pk
    carol = linked(app, "carol", "Carol", "Wu")
    request_of_alice.schedule.layers.get().participants.create(user=carol, position=5)

    listed = say(app, "换班")
    taken = say(app, f"接班 {number}")
    refused = say(app, f"接班 {number}", sender="ou_carol")
    nothing = say(app, "接班 99999")
    unclear = say(app, "接班")

    assert listed.splitlines()[-1] == "发送“接班 N”接下第 N 号换班请求。"
    assert taken.startswith(f"#{number} 已接班：")  # noqa: RUF001
    assert refused.startswith(f"#{number} 已由 Bob Li 于 ")
    assert nothing == "没有你能看到的第 99999 号换班请求。"
    assert unclear == "发送“接班 N”，N 为“换班”列出的编号。"  # noqa: RUF001
    names = words_of("SRE primary Alice Chen Bob Li Asia Shanghai wedding")
    answers = [listed, taken, refused, nothing, unclear]
    assert [english_words(said, names) for said in answers] == [[]] * 5
