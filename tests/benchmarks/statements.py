"""What one alert costs the worker side, measured in this process: SQL statements, transactions
and CPU per event.

    python -m tests.benchmarks.statements [--pushes 200] [--members 0]

On a fresh PostgreSQL database (``STATEMENTS_DB_NAME``, default ``oncall_statements``) with the
ingest benchmark's channel and Alertmanager source, it accepts ``--pushes`` one-alert pushes
(each a new alert, so a new incident: the first scenario) and then the same alerts again (each
merged into its open incident: the second), and runs the tasks they cause here, one after the
other, as the workers would: the push's merge (default queue), then what it queued for at once
(the escalation start and its cards, on the cards queue). Tasks due later (the next level in 30
minutes) are not run. Nothing is published: the broker is replaced by a list, so that what is
counted is the console's own work.

Statements are counted at ``CursorWrapper.execute`` / ``executemany`` (an ``executemany`` is
one round trip: psycopg pipelines it), transactions at commit, CPU with ``time.process_time``,
and the PostgreSQL server's CPU for this process's connection from ``/proc`` (the server runs on
this machine; it is what each statement costs beyond the round trip, and it shares the cores
with the console); the accept (the web side) is not counted. ``--members`` adds that many
members to the channel, whom its default rule notifies (none: the ingest benchmark's setup).

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust). Not part of the test run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.benchmarks import common

DB_NAME = os.environ.get("STATEMENTS_DB_NAME", "oncall_statements")
REDIS_URL = os.environ.get("STATEMENTS_REDIS_URL", "redis://127.0.0.1:6379/14")


@dataclass
class Tally:
    """Statements, commits and CPU seconds of one kind of work, and how often it ran."""

    runs: int = 0
    statements: int = 0
    commits: int = 0
    cpu: list[float] = field(default_factory=list)
    server_cpu: float = 0.0  # seconds of the PostgreSQL backend serving this process
    sql: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # by first words


class Counter:
    """Counts every statement and commit of this process while ``active`` names a kind of work."""

    def __init__(self) -> None:
        self.active: Tally | None = None

    @contextmanager
    def installed(self) -> Iterator[None]:
        from django.db.backends.base.base import BaseDatabaseWrapper
        from django.db.backends.utils import CursorWrapper

        originals = (CursorWrapper.execute, CursorWrapper.executemany, BaseDatabaseWrapper.commit)
        counter = self

        def execute(wrapper: Any, sql: str, params: Any = None) -> Any:
            counter.count(sql)
            return originals[0](wrapper, sql, params)

        def executemany(wrapper: Any, sql: str, param_list: Any) -> Any:
            counter.count(sql)
            return originals[1](wrapper, sql, param_list)

        def commit(connection: Any) -> None:
            if counter.active is not None:
                counter.active.commits += 1
            originals[2](connection)

        CursorWrapper.execute, CursorWrapper.executemany = execute, executemany
        BaseDatabaseWrapper.commit = commit
        try:
            yield
        finally:
            CursorWrapper.execute, CursorWrapper.executemany = originals[0], originals[1]
            BaseDatabaseWrapper.commit = originals[2]

    def count(self, sql: str) -> None:
        if self.active is not None:
            self.active.statements += 1
            self.active.sql[" ".join(sql.split()[:4])[:90]] += 1

    def measure(self, tally: Tally, work: Callable[[], Any]) -> None:
        self.active = tally
        began, server_began = time.process_time(), backend_cpu_seconds()
        try:
            work()
        finally:
            tally.cpu.append(time.process_time() - began)
            tally.server_cpu += backend_cpu_seconds() - server_began
            tally.runs += 1
            self.active = None


def backend_cpu_seconds() -> float:
    """CPU seconds the PostgreSQL backend of this process's connection has used (from
    ``/proc``: the server runs on this machine); 0 before the first connection. Read in clock
    ticks (10 ms), so only totals over many tasks mean something."""
    from django.db import connection

    if connection.connection is None:
        return 0.0
    pid = connection.connection.info.backend_pid
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Sent:
    name: str
    args: tuple
    kwargs: dict
    queue: str
    due_later: bool


class Broker:
    """Stands in for Celery's ``apply_async``: keeps what was sent, to be run here."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []

    @contextmanager
    def installed(self) -> Iterator[None]:
        from celery.app.task import Task
        from django.conf import settings
        from django.utils import timezone

        from oncall.celery import route_task

        original = Task.apply_async
        broker = self

        def apply_async(task: Any, args: Any = None, kwargs: Any = None, **options: Any) -> None:
            eta, countdown = options.get("eta"), options.get("countdown")
            later = bool(countdown) or (eta is not None and eta > timezone.now())
            route = route_task(task.name, args, kwargs, options) or {}
            queue = route.get("queue", settings.CELERY_TASK_DEFAULT_QUEUE)
            broker.sent.append(Sent(task.name, tuple(args or ()), dict(kwargs or {}), queue, later))

        Task.apply_async = apply_async
        try:
            yield
        finally:
            Task.apply_async = original

    def take(self) -> list[Sent]:
        sent, self.sent = self.sent, []
        return sent


def seed(members: int) -> Any:
    """The ingest benchmark's channel and source (its default rule notifies the channel's
    members), with ``members`` members."""
    from django.contrib.auth import get_user_model

    from oncall.models import AlertSource, Channel

    channel, _ = Channel.objects.get_or_create(name="Bench")
    source = AlertSource.objects.create(
        name="Bench Alertmanager", kind="alertmanager", channel=channel
    )
    users = get_user_model()
    for n in range(members):
        channel.members.add(users.objects.create(username=f"member{n}"))
    return source


def run_scenario(
    name: str, source: Any, keys: list[str], counter: Counter, broker: Broker
) -> tuple[list[str], dict[str, Tally]]:
    """Accept one push per key, then run every task it causes; the table row, and the tallies
    by part."""
    bodies = [common.firing_alert_body(key, f"Bench {key}") for key in keys]
    return run_pushes(name, source, bodies, len(keys), counter, broker)


def run_pushes(
    name: str, source: Any, bodies: list[bytes], events: int, counter: Counter, broker: Broker
) -> tuple[list[str], dict[str, Tally]]:
    """Accept each body as a push, then run every task it causes; the table row (per event),
    and the tallies by part."""
    from celery import current_app

    from oncall import ingest

    worker, cards, other = Tally(), Tally(), Tally()
    tally_of = {}
    for body in bodies:
        ingest.accept(source, _json(body), body_bytes=len(body))
        queue = broker.take()
        while queue:
            sent = queue.pop(0)
            if sent.due_later:
                continue
            task = current_app.tasks[sent.name]
            tally = tally_of.setdefault(sent.queue, _tally_for(sent.queue, worker, cards, other))
            counter.measure(tally, lambda t=task, s=sent: t(*s.args, **s.kwargs))
            queue.extend(broker.take())
    row = [name, str(events)]
    for tally in (worker, cards):
        row += [
            f"{tally.statements / events:.1f}",
            f"{tally.commits / events:.1f}",
            f"{sum(tally.cpu) / events * 1000:.2f}",
            f"{statistics.median(tally.cpu) * 1000 if tally.cpu else 0:.2f}",
            f"{tally.server_cpu / events * 1000:.2f}",
        ]
    total = worker.statements + cards.statements + other.statements
    row.append(f"{total / events:.1f}")
    return row, {"merge": worker, "cards": cards, "other": other}


def run_mix(
    source: Any, pushes: int, counter: Counter, broker: Broker
) -> tuple[list[str], dict[str, Tally]]:
    """The ingest benchmark's flat-out bodies (``ingest.batch_body``), per event."""
    from tests.benchmarks.ingest import batch_body

    rng = random.Random(7)
    bodies = [batch_body(rng, MIX_BATCH, MIX_KEYS) for _ in range(pushes)]
    return run_pushes("ingest mix", source, bodies, pushes * MIX_BATCH, counter, broker)


MIX_BATCH, MIX_KEYS = 10, 2000


def _tally_for(queue: str, worker: Tally, cards: Tally, other: Tally) -> Tally:
    from django.conf import settings

    if queue == settings.CELERY_TASK_DEFAULT_QUEUE:
        return worker
    return cards if queue == settings.CELERY_CARDS_QUEUE else other


def _json(body: bytes) -> Any:
    import json

    return json.loads(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=200)
    parser.add_argument("--members", type=int, default=0)
    parser.add_argument(
        "--mix",
        type=int,
        default=0,
        metavar="PUSHES",
        help="also this many pushes of the ingest benchmark's mix (batches of 10 alerts from "
        "2,000 identities, 80 %% firing: mostly merges, some new incidents and recoveries)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="statements by kind")
    args = parser.parse_args()

    env = common.environment(
        db_name=DB_NAME,
        redis_url=REDIS_URL,
        port=0,
        queue="statements",
        data_dir=tempfile.mkdtemp(prefix="oncall-statements-"),
    )
    common.setup_django(env)
    common.reset_state(DB_NAME, REDIS_URL)
    source = seed(args.members)
    counter, broker = Counter(), Broker()
    keys = [f"stmt-{n:06d}" for n in range(args.pushes)]
    with counter.installed(), broker.installed():
        # A few pushes first, so that what a process loads once is not counted.
        run_scenario("warm-up", source, [f"warm-{n}" for n in range(20)], counter, broker)
        new_row, new_tallies = run_scenario("new incident", source, keys, counter, broker)
        repeat_row, _ = run_scenario("repeat alert", source, keys, counter, broker)
        rows = [new_row, repeat_row]
        shown = {"new-incident pushes": (new_tallies, args.pushes)}
        if args.mix:
            mix_row, mix_tallies = run_mix(source, args.mix, counter, broker)
            rows.append(mix_row)
            shown["mix's events"] = (mix_tallies, args.mix * MIX_BATCH)
    header = ["per event (one-alert pushes, then the mix)", "events"]
    for part in ("merge", "cards"):
        header += [
            f"{part} SQL",
            f"{part} commits",
            f"{part} CPU ms",
            f"{part} CPU p50",
            f"{part} PG CPU ms",
        ]
    header.append("SQL total")
    print(f"\nin process, PostgreSQL, {args.members} channel member(s) notified per incident")
    common.print_rows([header, *rows])
    if args.verbose:
        for scenario, (tallies, events) in shown.items():
            for part, tally in tallies.items():
                print(f"\nstatements per event of the {scenario}, {part}:")
                for sql, count in sorted(tally.sql.items(), key=lambda item: -item[1]):
                    print(f"{count / events:8.2f}  {sql}")


if __name__ == "__main__":
    main()
