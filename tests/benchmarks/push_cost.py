"""What one push costs the console's web process, measured in this process: SQL statements,
tasks sent and CPU.

    python3 dev.py bench push-cost [--pushes 1000] [--batch 1] [--postgres] [--runs 3]
        [--profile] [--profile-out FILE]
    BENCH_DB_NAME=h_me BENCH_REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python -m tests.benchmarks.push_cost --postgres --pushes 2000 --runs 3

Each push goes through the WSGI application (middleware, URL, the push view, the insert, the
task's publish), not over HTTP, so that what is counted is the console's own work: the
statements and tasks exactly, and the CPU time (``time.process_time``) of each push, whose
median is steady enough to compare versions on a loaded machine. Without ``--postgres``: the
embedded SQLite and the filesystem broker in a temporary folder; with it, a fresh PostgreSQL
database (``oncall_bench_push``) and Redis (database 14 unless ``BENCH_REDIS_URL``), as
production runs. gunicorn adds its own HTTP work on top (the ingestion benchmark's web column,
``--batch 1``). ``tests/test_push_cost.py`` holds the statements and tasks to a ceiling.

``--runs`` measures that many rounds of ``--pushes`` in the one process and prints a row each
and their median: the machine's other work moves a round's median by tens of percent, so
compare versions by the median of rounds, or better alternate them in one process. The
database and the Redis database are dropped and emptied first (``BENCH_DB_NAME``,
``BENCH_REDIS_URL``: use your own). ``--profile`` prints the 30 functions with the most CPU
(cProfile on the CPU clock, over one more round after the measured ones; its own cost inflates
small calls), and ``--profile-out`` keeps that profile for ``python -m pstats``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.benchmarks import common

DB_NAME = os.environ.get("BENCH_DB_NAME", "oncall_bench_push")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
WARM_UP = 50


@dataclass
class PushCost:
    """Per push, in order: its SQL statements and CPU milliseconds; the tasks sent in all."""

    statements: list[int] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    tasks: int = 0

    def describe(self) -> str:
        count = len(self.cpu_ms)
        return (
            f"per push, in process: {statistics.median(self.cpu_ms):.2f} ms CPU (median of "
            f"{count}; mean {statistics.mean(self.cpu_ms):.2f}), "
            f"{statistics.mean(self.statements):.1f} SQL statements, "
            f"{self.tasks / count:.1f} tasks sent"
        )


def push_bodies(count: int, batch: int, prefix: str = "cost") -> list[bytes]:
    """Alertmanager bodies of ``batch`` firing alerts each, every alert a new identity."""
    return [
        common.alertmanager_body(
            [_alert(f"{prefix}-{time.time_ns()}-{i}-{j}", f"Cost{j}") for j in range(batch)]
        )
        for i in range(count)
    ]


def _alert(fingerprint: str, name: str) -> dict:
    return {
        "status": "firing",
        "labels": {"alertname": name, "instance": fingerprint, "severity": "critical"},
        "annotations": {"summary": f"{name} {fingerprint}"},
        "startsAt": "2026-11-21T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fingerprint,
    }


def push_in_process(
    path: str, bodies: list[bytes], *, profiler: cProfile.Profile | None = None
) -> PushCost:
    """POST each body to ``path`` through the WSGI application in this process; raises unless
    every push is answered 200."""
    from celery.signals import before_task_publish
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connection

    application = WSGIHandler()
    cost = PushCost()
    counted: list[int] = [0]

    def count(execute, sql, params, many, context):
        counted[0] += 1
        return execute(sql, params, many, context)

    def sent(**_: object) -> None:
        cost.tasks += 1

    before_task_publish.connect(sent, weak=False)
    try:
        with connection.execute_wrapper(count):
            for body in bodies:
                counted[0] = 0
                with _profiling(profiler):
                    began = time.process_time()
                    status = _post(application, path, body)
                    cost.cpu_ms.append((time.process_time() - began) * 1000)
                if not status.startswith("200"):
                    raise AssertionError(f"push answered {status}")
                cost.statements.append(counted[0])
    finally:
        before_task_publish.disconnect(sent)
    return cost


@contextmanager
def _profiling(profiler: cProfile.Profile | None) -> Iterator[None]:
    if profiler is None:
        yield
        return
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()


def _post(application, path: str, body: bytes) -> str:
    """One request through WSGI, as gunicorn calls the application; its status line."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": common.HOST,
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": common.HOST,
        "HTTP_HOST": f"{common.HOST}:8000",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
    }
    statuses: list[str] = []
    response = application(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(response)
    response.close()
    return statuses[0]


def source_path() -> str:
    """A channel and an Alertmanager source; the source's push path."""
    from oncall.models import AlertSource, Channel

    channel = Channel.objects.create(name="Push cost")
    source = AlertSource.objects.create(name="Push cost", kind="alertmanager", channel=channel)
    return f"/push/{source.token}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=1, help="alerts per push")
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL and Redis")
    parser.add_argument("--runs", type=int, default=1, help="rounds of --pushes, a row each")
    parser.add_argument("--profile", action="store_true", help="print a CPU profile's top 30")
    parser.add_argument("--profile-out", help="write the cProfile of the measured pushes here")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="oncall-bench-push-")
    env = common.environment(
        db_name=DB_NAME, redis_url=REDIS_URL, port=8000, queue="bench-push", data_dir=data_dir
    )
    if not args.postgres:  # the embedded default
        for name in ("CELERY_BROKER_URL", "DATABASE_URL"):
            env.pop(name)
            os.environ.pop(name, None)
    common.setup_django(env)
    from django.core.management import call_command

    if args.postgres:
        common.reset_state(DB_NAME, REDIS_URL)
    else:
        call_command("migrate", verbosity=0)
    path = source_path()
    push_in_process(path, push_bodies(WARM_UP, args.batch, "warm"))
    costs = [
        push_in_process(path, push_bodies(args.pushes, args.batch, f"run{n}"))
        for n in range(args.runs)
    ]
    where = "PostgreSQL + Redis" if args.postgres else "SQLite + filesystem broker"
    print(f"\n{args.pushes} pushes of {args.batch} alert(s), {where}, one process")
    print_runs(costs)
    if args.profile or args.profile_out:
        # A round of its own, after the measured ones (the profiler's cost is not in them); on
        # the CPU clock: time spent waiting for the database or the broker is not the push's.
        profiler = cProfile.Profile(time.process_time)
        push_in_process(path, push_bodies(args.pushes, args.batch, "profiled"), profiler=profiler)
        if args.profile_out:
            profiler.dump_stats(args.profile_out)
        if args.profile:
            print_profile(profiler, args.pushes)
    if args.postgres:
        common.flush_redis(REDIS_URL)  # the tasks no worker took


def print_runs(costs: list[PushCost]) -> None:
    """A row per round (CPU ms per push: median, quartile, mean; statements and tasks per
    push), then the median of the rounds' medians."""
    rows: list[list[str]] = [["run", "CPU ms median", "p25", "mean", "statements", "tasks"]]
    for n, cost in enumerate(costs, 1):
        ordered = sorted(cost.cpu_ms)
        count = len(ordered)
        rows.append(
            [
                str(n),
                f"{statistics.median(ordered):.3f}",
                f"{ordered[count // 4]:.3f}",
                f"{statistics.mean(ordered):.3f}",
                f"{statistics.mean(cost.statements):.2f}",
                f"{cost.tasks / count:.2f}",
            ]
        )
    common.print_rows(rows)
    medians = [statistics.median(cost.cpu_ms) for cost in costs]
    print(f"median of {len(costs)} run(s): {statistics.median(medians):.3f} ms CPU per push")


def print_profile(profiler: cProfile.Profile, pushes: int) -> None:
    """The 30 functions with the most CPU, by their cumulative and their own time."""
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(30)
    stats.sort_stats("tottime").print_stats(30)
    print(f"\nCPU profile of {pushes} pushes (seconds in all, not per push):")
    print(stream.getvalue())


if __name__ == "__main__":
    main()
