"""Big-push benchmark: one large Alertmanager push, and the small pushes that arrive behind it.

    python3 dev.py bench big-push [--alerts 3000] [--small 20] [--interval 0.5]
                                  [--task-workers 1] [--group-by alertname]
                                  [--database oncall_bench_big_push]
                                  [--redis redis://127.0.0.1:6379/11]

Starts gunicorn and a Celery worker of ``--task-workers`` processes on a fresh PostgreSQL
database (``--database``, dropped and created again) with Redis (``--redis``, flushed) as the
broker, creates a channel and an Alertmanager source, warms the worker up with one push, then
pushes one body of ``--alerts`` distinct firing alerts and, from the moment it is answered,
``--small`` one-alert pushes ``--interval`` seconds apart. When every push is processed it
prints:

* the big push: how long its answer took, how long from its arrival until it was processed,
  the processing tasks the worker ran (Celery's own "succeeded in" times from the worker's
  log) and the longest of them, which is how long the push held a worker in one go;
* the small pushes: the time from each one's arrival until it was processed (p50 and max),
  which is how long they waited behind the big one;
* the alerts and incidents stored, against those expected (nothing lost, nothing doubled).

One worker process (the default) is the case where queueing shows: with more, the small pushes
find an idle process until as many big pushes arrive at once. ``--group-by`` groups the
channel's alerts by those labels (the big push's alerts carry ``alertname`` Bench0..Bench29);
by default each alert is an incident of its own, the most work per alert.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust) and Redis on 127.0.0.1:6379; it sends
traffic only to 127.0.0.1 and stops by itself. Not part of the test run; it asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks import common

PORT = 8769
DB_NAME = "oncall_bench_big_push"
REDIS_URL = "redis://127.0.0.1:6379/11"
PROCESS_TASK = "oncall.tasks.process_inbound_event"
# Celery's line for a finished task: "Task <name>[<id>] succeeded in 1.234s: None".
TASK_LINE = re.compile(r"Task (?P<name>[\w.]+)\[[\w-]+\] succeeded in (?P<seconds>[\d.]+)s")


def alert(key: str, index: int) -> dict:
    return {
        "status": "firing",
        "labels": {
            "alertname": f"Bench{index % 30}",
            "instance": f"host-{key}:9100",
            "severity": "critical" if index % 7 == 0 else "warning",
        },
        "annotations": {"summary": f"Big push alert {key}"},
        "startsAt": "2026-11-21T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": key,
    }


def seed(group_by: list[str]) -> str:
    from oncall.models import AlertSource, Channel

    channel = Channel.objects.create(name="Bench", group_by_labels=group_by)
    source = AlertSource.objects.create(name="Bench AM", kind="alertmanager", channel=channel)
    return f"/push/{source.token}"


def post(path: str, body: bytes) -> tuple[float, str]:
    """POST ``body``; the answer time (s) and the push's request id."""
    conn = http.client.HTTPConnection(common.HOST, PORT, timeout=300)
    began = time.monotonic()
    conn.request("POST", path, body=body, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    answer = response.read()
    elapsed = time.monotonic() - began
    conn.close()
    if response.status != 200:
        sys.exit(f"push answered {response.status}: {answer[:300]!r}")
    return elapsed, json.loads(answer)["request_id"]


def wait_processed(timeout: float = 1800) -> None:
    from oncall.models import InboundEvent

    deadline = time.monotonic() + timeout
    while InboundEvent.objects.filter(status=InboundEvent.Status.PENDING).exists():
        if time.monotonic() > deadline:
            sys.exit("pushes were still pending after the timeout")
        time.sleep(0.1)


@dataclass
class Measured:
    big_answer_s: float
    big_processed_s: float
    small_waits_s: list[float]
    task_seconds: list[float]
    alerts: int
    incidents: int
    failed: int
    usage: common.Usage


def processed_after(request_ids: list[str]) -> list[float]:
    """Seconds from arrival until processed, for each push in ``request_ids``."""
    from oncall.models import InboundEvent

    rows = InboundEvent.objects.filter(request_id__in=request_ids)
    return [(r.processed_at - r.received_at).total_seconds() for r in rows]


def process_task_seconds(log: Path) -> list[float]:
    """How long each ingestion task took, from the worker's log (warm-up included)."""
    return [
        float(match["seconds"])
        for match in TASK_LINE.finditer(log.read_text())
        if match["name"] == PROCESS_TASK
    ]


def measure(path: str, args: argparse.Namespace) -> tuple[float, str, list[str]]:
    big = common.alertmanager_body([alert(f"big-{i:05d}", i) for i in range(args.alerts)])
    answer_s, big_id = post(path, big)
    small_ids: list[str] = []

    for i in range(args.small):
        time.sleep(args.interval)
        small_ids.append(post(path, common.alertmanager_body([alert(f"small-{i:03d}", i)]))[1])
    wait_processed()
    return answer_s, big_id, small_ids


def run(env: dict[str, str], args: argparse.Namespace, log: Path) -> Measured:
    from oncall.models import Alert, InboundEvent, Incident

    common.reset_state(args.database, args.redis)
    path = seed([label for label in args.group_by.split(",") if label])
    with common.Servers(
        env, port=PORT, web_workers=2, task_workers=args.task_workers, worker_log=log
    ) as servers:
        post(path, common.alertmanager_body([alert("warm-up", 0)]))
        wait_processed()
        meter = common.CpuMeter(servers)
        answer_s, big_id, small_ids = measure(path, args)
        usage = meter.read()
    return Measured(
        big_answer_s=answer_s,
        big_processed_s=processed_after([big_id])[0],
        small_waits_s=sorted(processed_after(small_ids)),
        task_seconds=process_task_seconds(log)[1:],  # the warm-up push's task left out
        alerts=Alert.objects.count(),
        incidents=Incident.objects.count(),
        failed=InboundEvent.objects.filter(status=InboundEvent.Status.FAILED).count(),
        usage=usage,
    )


def print_table(result: Measured, args: argparse.Namespace) -> None:
    waits, tasks = result.small_waits_s, result.task_seconds
    expected = args.alerts + args.small + 1
    print(
        f"\none push of {args.alerts} alerts, then {args.small} pushes of 1 alert every "
        f"{args.interval:g} s; {args.task_workers} Celery worker process(es), "
        f"PostgreSQL + Redis"
    )
    common.print_rows(
        [
            ["measure", "value"],
            ["big push: answered in (s)", f"{result.big_answer_s:.2f}"],
            ["big push: arrival to processed (s)", f"{result.big_processed_s:.1f}"],
            ["ingestion tasks run (after warm-up)", str(len(tasks))],
            ["longest ingestion task (s)", f"{max(tasks, default=0):.2f}"],
            ["small pushes: wait p50 (s)", f"{statistics.median(waits):.2f}"],
            ["small pushes: wait max (s)", f"{max(waits):.2f}"],
            ["alerts stored / expected", f"{result.alerts} / {expected}"],
            ["incidents", str(result.incidents)],
            ["pushes failed", str(result.failed)],
            *(
                [name, cell]
                for name, cell in zip(
                    common.cost_header("alert"),
                    result.usage.cost_cells(args.alerts + args.small),
                    strict=True,
                )
            ),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=3000)
    parser.add_argument("--small", type=int, default=20)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--task-workers", type=int, default=1)
    parser.add_argument("--group-by", default="", help="comma-separated label names")
    parser.add_argument("--database", default=DB_NAME)
    parser.add_argument("--redis", default=REDIS_URL)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="oncall-bench-")
    env = common.environment(
        db_name=args.database,
        redis_url=args.redis,
        port=PORT,
        queue="bench-big-push",
        data_dir=data_dir,
        # The push must get in: the body cap is not what this measures.
        PUSH_MAX_BODY_BYTES=str(16 * 1024 * 1024),
    )
    common.setup_django(env)
    common.stop_on_sigterm()
    result = run(env, args, Path(data_dir) / "worker.log")
    print_table(result, args)


if __name__ == "__main__":
    main()
