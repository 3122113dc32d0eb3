"""What one card click costs the console, measured in this process: SQL statements and CPU.

A click goes in through the Django test client (the callback view, the lifecycle service, the
answer, the card sync queued), not over HTTP, so that what is counted is the console's own
work: the statements exactly, and the CPU time (``time.process_time``) of each click, whose
median is steady enough to compare versions even on a loaded machine. The clicks benchmark
prints both next to its rates; ``tests/feishu/sandbox/test_click_cost.py`` holds the
statement counts to a ceiling.
"""

from __future__ import annotations

import cProfile
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# claim, unclaim, claim, snooze 30m, wake, close, reopen: each valid after the one before, and
# the incident is open and unclaimed again after the last.
CYCLE: list[tuple[str, str | None]] = [
    ("claim", None),
    ("unclaim", None),
    ("claim", None),
    ("snooze", "30m"),
    ("wake", None),
    ("close", None),
    ("reopen", None),
]


@dataclass
class ClickCost:
    """Per click, in order: the action, its SQL statements, its CPU milliseconds."""

    actions: list[str] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    sql: list[list[str]] = field(default_factory=list)  # each click's statements

    def describe(self) -> str:
        by_action: dict[str, list[int]] = {}
        for action, count in zip(self.actions, self.statements, strict=True):
            by_action.setdefault(action, []).append(count)
        each = ", ".join(f"{a} {max(c)}" for a, c in by_action.items())
        return (
            f"per click, in process: {statistics.mean(self.statements):.1f} SQL statements "
            f"({each}), {statistics.median(self.cpu_ms):.1f} ms CPU (median of {len(self.cpu_ms)})"
        )


def click_in_process(
    sandbox_app,
    person,
    message,
    incident,
    steps: Sequence[tuple[str, str | None]] = CYCLE,
    *,
    host: str = "testserver",
    profiler: cProfile.Profile | None = None,
) -> ClickCost:
    """Send ``steps`` as ``person``'s clicks on ``message`` (a ``SandboxMessage`` with the card
    of ``incident``), each a ``card.action.trigger`` as Feishu sends it, built before its
    measurement starts. Raises if a click is not answered with a success toast."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from integrations.feishu_sandbox.models import CardUpdateToken
    from integrations.feishu_sandbox.send import Click, card_action_trigger, prepare

    client = Client(HTTP_HOST=host)
    path = urlsplit(sandbox_app.card_request_url).path
    cost = ClickCost()
    for action, option in steps:
        token = CardUpdateToken.objects.create(token=CardUpdateToken.new_token(), message=message)
        value = {"action": action, "incident": str(incident.public_id)}
        click = Click("select_static" if option else "button", value, option)
        payload = card_action_trigger(sandbox_app, person, message, click, token.token)
        push = prepare(sandbox_app, sandbox_app.card_request_url, payload, signing="event")
        headers = {k: v for k, v in push.headers.items() if k != "Content-Type"}
        with CaptureQueriesContext(connection) as queries:
            began = time.process_time()
            if profiler is not None:
                profiler.enable()
            response = client.post(
                path, data=push.body, content_type="application/json", headers=headers
            )
            if profiler is not None:
                profiler.disable()
            cpu = time.process_time() - began
        toast = (response.json().get("toast") or {}) if response.status_code == 200 else {}
        if toast.get("type") != "success":
            raise AssertionError(f"{action}: {response.status_code} {response.content[:300]!r}")
        cost.actions.append(action)
        cost.statements.append(len(queries.captured_queries))
        cost.cpu_ms.append(cpu * 1000)
        cost.sql.append([query["sql"] for query in queries.captured_queries])
    return cost
