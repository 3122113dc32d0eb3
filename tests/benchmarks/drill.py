"""Fault drill: a steady stream of alerts while the broker, a worker, PostgreSQL and Feishu fail.

    python3 dev.py drill [--seconds 300] [--rate 20] [--apps N] [--drain-timeout 1200]

Starts its own ``redis-server`` (broker, cache and rate limits; a free loopback port, nothing
saved to disk), a fresh PostgreSQL database ``oncall_drill``, gunicorn serving the console and
the Feishu sandbox, a Celery worker on the default queue, one on the cards queue, and Celery
beat. It seeds ``--apps`` sandbox apps and one channel per alert a second, each with one member
linked in its app, the default escalation rule delivering through that app, and an Alertmanager
source. Then it pushes ``--rate`` unique alerts a second, round robin over the channels, for
``--seconds`` seconds (retried as Alertmanager does: ``drill_push``), in five phases:

=================  ======  ================================================================
phase              share   the fault (times are fractions of the phase)
=================  ======  ================================================================
steady             1/10    none: the baseline
broker down        2/10    redis-server SIGKILLed at 10 %, started again (empty) at 40 %
worker SIGKILL     2/10    both Celery workers (every process) SIGKILLed at 10 %, restarted
                           at 20 %
PG terminated      2/10    ``pg_terminate_backend`` of every connection to the database, at
                           10 %, then every 3 s until 50 %
Feishu 5xx/429     3/10    from 5 %, a minute (at most 90 % of the phase) in which every
                           sandbox Open API call (sends, tokens) is answered 503 for the
                           first half, then 429 (code 99991400) for the second
=================  ======  ================================================================

With the default 300 s the Feishu fault lasts a minute and the broker is down for 18 s. Once
every push is answered (or given up after ``--give-up`` seconds), it waits for the backlog to
drain: every accepted alert stored and its incident's card in the sandbox (``--drain-timeout``),
and prints one row per phase and a total (``drill_outcome`` says what each column counts). The
goal is 0 lost and 0 duplicated in every row (and 0 late: the backlog drained in time). The
servers' logs go to a file it names.

Needs PostgreSQL on 127.0.0.1:5432 (user root, trust) and ``redis-server`` on the PATH; sends
traffic only to 127.0.0.1. Not part of the test run; it asserts nothing but exits 1 when a row
shows a loss, a duplicate or an alert still late.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.benchmarks import common
from tests.benchmarks.drill_outcome import (
    HEADER,
    PhaseTimes,
    Row,
    missing,
    read_stored,
    rows,
)
from tests.benchmarks.drill_push import Push, Sender

PORT = 8767
DB_NAME = "oncall_drill"
QUEUE = "drill"
PUSH_CLIENTS = 16
PG_TERMINATE_EVERY_SECONDS = 3.0
FEISHU_FAULT_SECONDS = 60.0  # at the default length; shorter drills shrink it
FEISHU_5XX_SHARE = 1 / 2


# --- The broker ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((common.HOST, 0))
        return sock.getsockname()[1]


class RedisServer:
    """A ``redis-server`` of the drill's own on ``port``: nothing saved, so a restart starts
    empty, as a broker whose disk was lost (every queued task gone)."""

    def __init__(self, port: int, log: Path):
        self.port = port
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{common.HOST}:{self.port}/0"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.port),
            "--bind",
            common.HOST,
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((common.HOST, self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        sys.exit(f"redis-server did not start on port {self.port}; see {self.log}")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


# --- Phases and faults --------------------------------------------------------------------------


@dataclass
class Fault:
    """A phase's fault, from ``start`` to ``stop`` (fractions of the phase): ``actions`` run
    at their seconds from the fault's start, the last one (at its stop) ends it."""

    start: float
    stop: float
    actions: list[tuple[float, Callable[[], None]]]


@dataclass
class Phase:
    name: str
    share: float
    fault: Fault | None = None


class Supervisor:
    """Starts again, within a second, any server that ended while the drill did not hold it
    down: what systemd's ``Restart=always`` (or a container's restart policy) does in
    production. Celery's worker can exit by itself when its Redis broker goes away (kombu's
    "Unrecoverable error" on the lost connection), so the drill counts such restarts."""

    def __init__(self, servers: common.Servers):
        self.servers = servers
        self.held: set[str] = set()
        self.restarts: Counter = Counter()
        self.lock = threading.Lock()
        self.running = True
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> Supervisor:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        self.thread.join()

    def _watch(self) -> None:
        while self.running:
            time.sleep(1)
            with self.lock:
                for name in self.servers.ended():
                    if name not in self.held:
                        say(f"{name} ended by itself: started again (as a supervisor would)")
                        self.restarts[name] += 1
                        self.servers.respawn(name)

    def hold(self, names: tuple[str, ...]) -> None:
        """Kill ``names`` with SIGKILL and keep them down until ``release``."""
        with self.lock:
            self.held.update(names)
            for name in names:
                self.servers.kill(name)

    def release(self, names: tuple[str, ...]) -> None:
        with self.lock:
            self.held.difference_update(names)
            for name in names:
                self.servers.respawn(name)


WORKERS = ("workers", "card workers")


@dataclass
class Drill:
    """The running world the faults act on."""

    supervisor: Supervisor
    redis: RedisServer
    seconds: float

    def phases(self) -> list[Phase]:
        return [
            Phase("steady", 1 / 10),
            self._phase("broker down", 2 / 10, 0.1, 0.4, self.redis.kill, self.redis.start),
            self._phase("worker SIGKILL", 2 / 10, 0.1, 0.2, self.kill_workers, self.workers),
            self._postgres(2 / 10, 0.1, 0.5),
            self._feishu(3 / 10),
        ]

    def _phase(
        self,
        name: str,
        share: float,
        start: float,
        stop: float,
        begin: Callable[[], None],
        end: Callable[[], None],
    ) -> Phase:
        span = (stop - start) * share * self.seconds
        return Phase(name, share, Fault(start, stop, [(0.0, begin), (span, end)]))

    def _postgres(self, share: float, start: float, stop: float) -> Phase:
        span = (stop - start) * share * self.seconds
        ticks = int(span // PG_TERMINATE_EVERY_SECONDS) + 1
        actions = [(k * PG_TERMINATE_EVERY_SECONDS, terminate_connections) for k in range(ticks)]
        return Phase("PG terminated", share, Fault(start, stop, [*actions, (span, _nothing)]))

    def _feishu(self, share: float) -> Phase:
        """A minute of Feishu faults at the default length (proportionally less when
        shorter): 503 first, then 429."""
        span = min(FEISHU_FAULT_SECONDS, 0.9 * share * self.seconds)
        actions = [
            (0.0, lambda: feishu_fault(503)),
            (span * FEISHU_5XX_SHARE, lambda: (clear_feishu_faults(), feishu_fault(429))),
            (span, clear_feishu_faults),
        ]
        stop = 0.05 + span / (share * self.seconds)
        return Phase("Feishu 5xx/429", share, Fault(0.05, stop, actions))

    def kill_workers(self) -> None:
        self.supervisor.hold(WORKERS)

    def workers(self) -> None:
        self.supervisor.release(WORKERS)


def _nothing() -> None:
    """The end of a fault that is over once its last action ran."""


def terminate_connections() -> None:
    """End every other PostgreSQL connection to the drill's database: web, workers, beat and
    sandbox find their connections gone, as after a database restart or a failover."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [connection.settings_dict["NAME"]],
        )


def feishu_fault(status: int) -> None:
    """Every sandbox Open API call (sends, tokens) answers ``status`` until cleared."""
    from integrations.feishu_sandbox.models import Fault as SandboxFault

    SandboxFault.objects.create(
        path_prefix="/open-apis/", status=status, retry_after=1, remaining=10**9
    )


def clear_feishu_faults() -> None:
    from integrations.feishu_sandbox.models import Fault as SandboxFault

    SandboxFault.objects.all().delete()


def run_phases(drill: Drill, phases: list[Phase], started: float) -> list[PhaseTimes]:
    """Run each phase's fault actions at their times while the pushes go (``started``: the
    first push's ``time.monotonic()``); returns when each fault ran."""
    times: list[tuple[str, float | None, float | None]] = []
    begin = started
    for phase in phases:
        length = drill.seconds * phase.share
        if phase.fault is None:
            times.append((phase.name, None, None))
        else:
            fault_start, fault_end = run_fault(phase, begin + phase.fault.start * length)
            times.append((phase.name, fault_start, fault_end))
        begin += length
        sleep_until(begin)
    starts = [start for _, start, _ in times if start is not None]
    return [
        PhaseTimes(name, start, end, next((s for s in starts if start and s > start), math.inf))
        for name, start, end in times
    ]


def run_fault(phase: Phase, at: float) -> tuple[float, float]:
    """The fault's actions from ``at`` (monotonic); returns its start and end (Unix times)."""
    assert phase.fault is not None
    sleep_until(at)
    say(f"{phase.name}: the fault begins")
    started = time.time()
    for offset, action in phase.fault.actions:
        sleep_until(at + offset)
        action()
    say(f"{phase.name}: the fault ends")
    return started, time.time()


def sleep_until(monotonic: float) -> None:
    time.sleep(max(0.0, monotonic - time.monotonic()))


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- Setup ----------------------------------------------------------------------------------------


def seed(apps: int, channels: int) -> list[str]:
    """``apps`` sandbox apps and their console apps; ``channels`` channels of one linked member
    each, whose default rule delivers through app ``channel % apps``; a push path each."""
    from django.contrib.auth import get_user_model

    from integrations.feishu.escalation_targets import choose_app
    from integrations.feishu_sandbox.models import SandboxApp, SandboxUser
    from oncall.models import AlertSource, Channel
    from tests.feishu.sandbox.world import console_app_for, link

    pairs = []
    for a in range(apps):
        sandbox_app = SandboxApp.objects.create(name=f"Drill app {a}")
        pairs.append((sandbox_app, console_app_for(sandbox_app)))
    user_model = get_user_model()
    paths = []
    for c in range(channels):
        sandbox_app, console_app = pairs[c % apps]
        channel = Channel.objects.create(name=f"Drill {c}")
        name = f"drill-{c}"
        person = SandboxUser.objects.create(name=name, email=f"{name}@example.com")
        user = user_model.objects.create_user(username=name, email=f"{name}@example.com")
        link(user, console_app, sandbox_app, person)
        channel.members.add(user)
        choose_app(channel.escalation_rules.get(), console_app)
        source = AlertSource.objects.create(
            name=f"Drill {c} Alertmanager", kind="alertmanager", channel=channel
        )
        paths.append(f"/push/{source.token}")
    return paths


def schedule(paths: list[str], phases: list[Phase], args: argparse.Namespace) -> list[Push]:
    """``--rate`` pushes a second over the phases, each due at its time from ``start``."""
    start = time.monotonic() + 1.0
    pushes = []
    begin = 0.0
    for index, phase in enumerate(phases):
        length = args.seconds * phase.share
        first, last = math.ceil(begin * args.rate), math.ceil((begin + length) * args.rate)
        for i in range(first, last):
            pushes.append(
                Push(f"drill-{i:06d}", paths[i % len(paths)], index, start + i / args.rate)
            )
        begin += length
    return pushes


# --- Running ----------------------------------------------------------------------------------


def wait_drained(pushes: list[Push], timeout: float) -> None:
    """Until every accepted alert is stored and has its card, or ``timeout``."""
    deadline = time.monotonic() + timeout
    last_said = 0.0
    while True:
        stored = read_stored()
        no_alert, no_card = missing(pushes, stored)
        if no_alert == no_card == 0 and stored.pending_pushes == 0:
            say("drained")
            return
        if time.monotonic() > deadline:
            say(f"gave up waiting: {no_alert} alerts not stored, {no_card} incidents lack a card")
            return
        if time.monotonic() - last_said > 15:
            say(
                f"draining: {stored.pending_pushes} pushes pending, {no_alert} alerts not "
                f"stored, {no_card} incidents without a card"
            )
            last_said = time.monotonic()
        time.sleep(3)


def print_table(table: list[Row], args: argparse.Namespace, log: Path) -> None:
    print(
        f"\nFault drill: {args.rate:g} alerts/s for {args.seconds:g} s, {args.apps} apps, "
        f"PostgreSQL + Redis, {os.cpu_count()} cores"
    )
    common.print_rows([HEADER, *(row.cells() for row in table)])
    total = table[-1]
    if total.lost_keys:
        print(f"lost: {', '.join(total.lost_keys[:20])}")
    if total.duplicated_keys:
        print(f"duplicated: {', '.join(total.duplicated_keys[:20])}")
    print(
        "2xx: answered 2xx in the end; retried: of those, refused first (5xx, 429, no answer) "
        "and sent again; refused: never answered 2xx (4xx, or given up)"
    )
    print(f"servers' logs: {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long to push")
    parser.add_argument("--rate", type=float, default=20, help="alerts per second")
    parser.add_argument("--apps", type=int, help="Feishu apps (default: one per 8 alerts/s)")
    parser.add_argument("--give-up", type=float, default=300, help="seconds a push is retried")
    parser.add_argument("--drain-timeout", type=float, default=1200)
    args = parser.parse_args()
    args.apps = args.apps or max(1, math.ceil(args.rate / 8))

    data_dir = Path(tempfile.mkdtemp(prefix="oncall-drill-"))
    log = data_dir / "servers.log"
    redis = RedisServer(free_port(), log)
    env = common.sandbox_environment(
        db_name=DB_NAME, redis_url=redis.url, port=PORT, queue=QUEUE, data_dir=str(data_dir)
    )
    common.setup_django(env)
    common.stop_on_sigterm()
    redis.start()
    try:
        table, restarts = run(env, args, redis, log)
    finally:
        redis.kill()
    print_table(table, args, log)
    print(f"servers that ended by themselves and were started again: {restarts}")
    total = table[-1]
    sys.exit(1 if total.lost or total.duplicated or total.late else 0)


def run(
    env: dict[str, str], args: argparse.Namespace, redis: RedisServer, log: Path
) -> tuple[list[Row], str]:
    """The drill itself; returns its table and the servers restarted after ending by
    themselves."""
    common.reset_state(DB_NAME, redis.url, skip_checks=True)
    channels = max(1, math.ceil(args.rate))  # about one alert per second per receiver
    paths = seed(args.apps, channels)
    servers = common.Servers(
        env,
        port=PORT,
        web_workers=3,
        threads=4,
        task_workers=2,
        card_workers=4,
        beat=True,
        output=log,
    )
    with servers, Supervisor(servers) as supervisor:
        drill = Drill(supervisor, redis, args.seconds)
        phases = drill.phases()
        pushes = schedule(paths, phases, args)
        sender = Sender(PORT, pushes, PUSH_CLIENTS, args.give_up)
        say(f"pushing {len(pushes)} alerts over {args.seconds:g} s")
        sender.start()
        times = run_phases(drill, phases, pushes[0].due)
        sender.join()
        say(f"every push answered or given up ({sum(p.accepted for p in pushes)} accepted)")
        wait_drained(pushes, args.drain_timeout)
    restarts = ", ".join(f"{name} {n}x" for name, n in supervisor.restarts.items())
    return rows(times, pushes, sender.refused_at, read_stored()), restarts or "none"


if __name__ == "__main__":
    main()
