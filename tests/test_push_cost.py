"""What a one-alert push costs the web process: one lookup, one insert, one task sent, and no
health-check round trip; held here so that a regression shows in the test run (the ingestion
benchmark's ``--batch 1`` and ``dev.py bench push-cost`` print the same with the CPU)."""

from __future__ import annotations

import pytest

from oncall.models import InboundEvent
from oncall.tasks import process_inbound_event
from tests.benchmarks.push_cost import PushCost, push_bodies, push_in_process, source_path

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def tasks_sent(monkeypatch) -> list[int]:
    """The processing tasks the pushes send, recorded instead of run eagerly inside the push
    (in production a worker takes them)."""
    sent: list[int] = []
    monkeypatch.setattr(
        process_inbound_event, "apply_async", lambda args, *_, **__: sent.append(args[0])
    )
    return sent


def test_a_one_alert_push_costs_two_statements_and_one_task(tasks_sent):
    path = source_path()
    push_in_process(path, push_bodies(3, 1, "warm"))  # the first fills what a process keeps
    tasks_sent.clear()

    cost = push_in_process(path, push_bodies(5, 1))

    assert cost.statements == [2] * 5  # the source by its token's digest; the push's insert
    stored = InboundEvent.objects.order_by("pk").values_list("pk", flat=True)
    assert tasks_sent == list(stored)[-5:]  # one task each, for the row just stored
    # The CPU itself is the benchmark's to print, not a test's to hold (no timing assertions);
    # what the test holds is that each push was measured once, so the median is per push.
    assert len(cost.cpu_ms) == len(cost.statements) == 5


def test_a_push_of_ten_alerts_costs_the_same_statements(tasks_sent):
    path = source_path()
    push_in_process(path, push_bodies(3, 10, "warm"))

    cost = push_in_process(path, push_bodies(3, 10))

    assert cost.statements == [2] * 3
    assert len(tasks_sent) == 6


def test_the_summary_is_per_push_whatever_the_tasks_each_sent():
    cost = PushCost(statements=[2, 2, 3], cpu_ms=[1.0, 5.0, 3.0], tasks=6)

    assert cost.describe() == (
        "per push, in process: 3.00 ms CPU (median of 3; mean 3.00), "
        "2.3 SQL statements, 2.0 tasks sent"
    )
