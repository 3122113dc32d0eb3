"""What a card click costs: SQL statements per click, held to a ceiling so that a regression
shows in the test run (the clicks benchmark prints the same numbers with its rates).

For a closer look: ``CLICK_SQL=1`` prints each click's statements, ``CLICK_PROFILE=<file>``
writes a cProfile of the clicks (``python -m pstats <file>``); run with ``-s``."""

from __future__ import annotations

import cProfile
import os

import pytest

from integrations.feishu import tasks
from oncall.models import EscalationRule
from tests.benchmarks.click_cost import CYCLE, click_in_process

pytestmark = pytest.mark.django_db(transaction=True)

# Statements per click, measured on SQLite and PostgreSQL alike: the callback's app, its receipt
# and the clicker's account; the transaction (the incident locked with the clicker's membership
# read in the same statement, its update, the timeline entry, the webhook endpoints that want
# it); the card of the answer (alerts, notes, changes) and the answered copy recorded. A reopen
# also plans escalation from level 1 (the rule, the plan, its timeline entry).
MOST_STATEMENTS = {"claim": 13, "unclaim": 14, "snooze": 14, "wake": 14, "close": 14, "reopen": 17}


@pytest.fixture
def syncs_queued(monkeypatch) -> list[int]:
    """The card syncs each click queues, recorded instead of run eagerly inside the click (in
    production they go to the cards queue)."""
    queued: list[int] = []
    monkeypatch.setattr(tasks.sync_cards, "apply_async", lambda args, **_: queued.append(args[0]))
    return queued


def test_a_click_costs_a_bounded_number_of_statements(card_world, syncs_queued):
    # No escalation: an unclaim, wake or reopen would send new cards (the delivery's business).
    EscalationRule.objects.filter(channel=card_world["incident"].channel).delete()
    profiler = cProfile.Profile() if os.environ.get("CLICK_PROFILE") else None
    cost = click_in_process(
        card_world["app"],
        card_world["people"]["bob"],
        card_world["card"],
        card_world["incident"],
        CYCLE * 2,
        profiler=profiler,
    )
    print("\n" + cost.describe())
    cpu = [round(ms, 1) for ms in cost.cpu_ms]
    print(list(zip(cost.actions, cost.statements, cpu, strict=True)))
    if profiler is not None:
        profiler.dump_stats(os.environ["CLICK_PROFILE"])
    if os.environ.get("CLICK_SQL"):
        for action, statements in zip(cost.actions[:7], cost.sql, strict=False):
            print(f"--- {action}")
            print("\n".join(sql[:220] for sql in statements))
    assert set(syncs_queued) == {card_world["incident"].pk}  # coalesced: one a second
    # The second round: the first fills what a running console keeps counted once (e.g. whether
    # it has DingTalk apps at all), which a click pays once per process, not per click.
    steady = range(len(CYCLE), len(cost.actions))
    for index in steady:
        action, statements = cost.actions[index], cost.statements[index]
        assert statements <= MOST_STATEMENTS[action], (action, cost.sql[index])
