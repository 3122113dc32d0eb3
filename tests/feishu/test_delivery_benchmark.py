"""The delivery benchmark's latency setup and summary (``tests/benchmarks/delivery.py``): the
issue's "two people and a group per incident" is really what level 1 notifies, and the first
and last card of each incident are told apart. No servers, no network: the ORM setup and the
arithmetic only."""

from __future__ import annotations

import math

import pytest

from integrations.feishu.escalation_targets import level_chats, not_linked, rule_problems
from integrations.feishu.models import FeishuApp, FeishuChat
from integrations.feishu_sandbox.models import SandboxApp, SandboxChat
from oncall.models import AlertSource, EscalationLevel
from tests.benchmarks.delivery import (
    CopyLatencies,
    IncidentCopies,
    Spread,
    copy_latencies,
    latency_channels,
    seed,
    send_limit_warnings,
)


def first_levels() -> list[EscalationLevel]:
    return list(
        EscalationLevel.objects.filter(position=0)
        .select_related("rule__channel")
        .order_by("rule__channel__name")
    )


@pytest.mark.django_db
def test_it_gives_each_channel_linked_people_and_a_group_of_its_own_on_level_one():
    world = seed(channels=3, members_per_channel=2, group=True)

    app = FeishuApp.objects.get()
    levels = first_levels()
    assert world.copies_per_incident == 3
    assert len(world.push_paths) == AlertSource.objects.count() == len(levels) == 3
    chats = [level_chats(level) for level in levels]
    assert all(len(level_chat) == 1 for level_chat in chats)
    assert len({level_chat[0].chat_id for level_chat in chats}) == 3  # 5/s per chat each
    for level, (chat,) in zip(levels, chats, strict=True):
        people = level.recipients()
        assert len(people) == 2
        assert not_linked(app, people) == []
        assert chat.app == app
        assert rule_problems(level.rule) == []  # delivered by the app, chat usable, all linked
        sandbox_chat = SandboxChat.objects.get(chat_id=chat.chat_id)
        assert list(sandbox_chat.bots.all()) == [SandboxApp.objects.get(app_id=world.app_id)]
        assert {p.name for p in sandbox_chat.members.all()} == {u.username for u in people}


@pytest.mark.django_db
def test_without_a_group_level_one_notifies_the_one_member_as_before():
    world = seed(channels=2, members_per_channel=1)

    assert world.copies_per_incident == 1
    assert FeishuChat.objects.count() == 0
    assert [len(level.recipients()) for level in first_levels()] == [1, 1]


def test_it_spreads_the_latency_users_over_channels_of_the_people_per_incident():
    assert latency_channels(50, 1) == 50
    assert latency_channels(50, 2) == 25
    with pytest.raises(ValueError, match="at least"):
        latency_channels(1, 2)


def test_the_first_card_is_the_earliest_copy_and_the_last_waits_for_every_copy():
    incidents = [
        IncidentCopies(pushed_at=100.0, accepted_at=(100.3, 100.1, 100.2)),
        IncidentCopies(pushed_at=200.0, accepted_at=(200.5, 201.0)),  # the group's is missing
        IncidentCopies(pushed_at=300.0, accepted_at=()),  # nothing yet
    ]

    latencies = copy_latencies(incidents, copies=3)

    assert latencies.first_ms == pytest.approx([100, 500])
    assert latencies.last_ms == pytest.approx([300])
    assert latencies.complete == 1


def test_with_one_copy_the_first_and_the_last_card_are_the_same():
    incidents = [IncidentCopies(10.0, (10.25,)), IncidentCopies(20.0, (20.75,))]

    latencies = copy_latencies(incidents, copies=1)

    assert latencies == CopyLatencies(first_ms=[250.0, 750.0], last_ms=[250.0, 750.0])


def test_the_spread_is_median_nearest_rank_p99_and_max():
    spread = Spread.of(float(ms) for ms in range(200, 0, -1))  # 1..200 ms, unordered

    assert (spread.p50, spread.p99, spread.max) == (100.5, 199.0, 200.0)
    assert spread.cells() == ["100", "199", "200"]
    assert all(math.isnan(v) for v in (Spread.of([]).p50, Spread.of([]).max))
    assert Spread.of([]).cells() == ["-", "-", "-"]


def test_it_warns_when_the_apps_limits_not_the_console_set_the_latency():
    assert send_limit_warnings(30, 20) == []  # 10 incidents/s x 3 copies for 20 s: 600 sends
    (minute,) = send_limit_warnings(30, 60)
    assert "1800 cards in a minute" in minute
    assert len(send_limit_warnings(60, 1)) == 1
