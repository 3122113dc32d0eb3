"""What the benchmarks share: their environment, a fresh PostgreSQL database and Redis database,
gunicorn and Celery workers as subprocesses, and the printed tables.

Servers run in their own process groups, so that a Ctrl-C in the terminal reaches only the
benchmark, which then stops every process of every group it started (``Servers``), and a
SIGTERM does the same (``stop_on_sigterm``). Traffic goes only to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PG_ADMIN = "postgres://root@127.0.0.1:5432/test"
HOST = "127.0.0.1"
# How long a server group may take to stop after SIGTERM before it is killed.
STOP_GRACE_SECONDS = 10
# What ``Servers(access_log=...)`` writes per request: method, path, status, microseconds.
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"


def environment(
    *, db_name: str, redis_url: str, port: int, queue: str, data_dir: str, **extra: str
) -> dict[str, str]:
    """The variables every process of a benchmark runs with (``extra`` adds or overrides)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "oncall.settings",
        "DATABASE_URL": f"postgres://root@{HOST}:5432/{db_name}",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_QUEUE": queue,
        "SECRET_KEY": "benchmark-secret-key",
        "FIELD_ENCRYPTION_KEYS": "benchmark-encryption-key",
        "DEBUG": "false",
        "DATA_DIR": data_dir,
        "PUBLIC_BASE_URL": f"http://{HOST}:{port}",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


SANDBOX_PATH = "/sandbox/feishu"


def sandbox_environment(
    *,
    db_name: str,
    redis_url: str,
    port: int,
    queue: str,
    data_dir: str,
    sandbox_port: int | None = None,
) -> dict[str, str]:
    """``environment`` for a console whose Feishu apps are served by its own sandbox: on the
    console's web server, or on a server of its own at ``sandbox_port`` (``Servers``)."""
    return environment(
        db_name=db_name,
        redis_url=redis_url,
        port=port,
        queue=queue,
        data_dir=data_dir,
        REDIS_URL=redis_url,
        FEISHU_SANDBOX_ENABLED="true",
        FEISHU_SANDBOX_BASE_URL=f"http://{HOST}:{sandbox_port or port}{SANDBOX_PATH}",
        # The sandbox is on loopback: allowed past the outbound (SSRF) guard, as `dev.py up` does.
        OUTBOUND_ALLOWED_NETWORKS=f"{HOST}/32",
    )


def firing_alert_body(fingerprint: str, name: str) -> bytes:
    """One firing Alertmanager alert named ``name``: its fingerprint is its identity, so one
    incident each."""
    alert = {
        "status": "firing",
        "labels": {"alertname": name, "instance": fingerprint, "severity": "critical"},
        "annotations": {"summary": f"{name} {fingerprint}"},
        "startsAt": "2026-11-21T10:00:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }
    return alertmanager_body([alert])


def alertmanager_body(alerts: list[dict]) -> bytes:
    """An Alertmanager v4 webhook body carrying ``alerts``."""
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "oncall",
            "groupKey": "{}:{}",
            "truncatedAlerts": 0,
            "groupLabels": {},
            "commonLabels": {},
            "commonAnnotations": {},
            "externalURL": "http://alertmanager:9093",
            "alerts": alerts,
        }
    ).encode()


def setup_django(env: dict[str, str]) -> None:
    """Use ``env`` in this process too (seeding and polling go through the ORM)."""
    os.environ.update(env)
    import django

    django.setup()


def reset_state(db_name: str, redis_url: str, *, skip_checks: bool = False) -> None:
    """A new, migrated database ``db_name`` and an empty Redis database (broker, cache, rate
    limits): what one measurement starts from."""
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    recreate_database(db_name)
    flush_redis(redis_url)
    call_command("migrate", verbosity=0, skip_checks=skip_checks)


def recreate_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db_name}")


def flush_redis(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushdb()


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so that ``finally`` blocks stop the servers."""
    signal.signal(signal.SIGTERM, _interrupt)


def queues() -> tuple[str, str]:
    """The default and the cards queue, as the console's settings name them. Call it after
    ``setup_django``, whose environment the servers are started with too."""
    from django.conf import settings

    return settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_CARDS_QUEUE


def webhooks() -> str:
    """The outbound webhooks' queue (no worker consumes it unless told to)."""
    from django.conf import settings

    return settings.CELERY_WEBHOOKS_QUEUE


# The Feishu sandbox's own server (``Servers(sandbox_port=...)``): as Feishu's servers are not
# the console's, its work (every send and card update) does not take the console's web workers.
SANDBOX_WEB_WORKERS = 2
SANDBOX_THREADS = 4


def gunicorn(port: int, workers: int, threads: int, *options: str) -> list[str]:
    """gunicorn serving the console's WSGI app (and the sandbox's, when enabled) on ``port``:
    with one thread, its own sync worker, as the README's production command runs it; with
    more, its threaded worker. ``options`` adds to the command line."""
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "oncall.wsgi",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "sync" if threads == 1 else "gthread",
        "--threads",
        str(threads),
        "--log-level",
        "warning",
        *options,
    ]


class Servers:
    """gunicorn (``web_workers`` x ``threads``) and a Celery worker (``task_workers``
    processes), started on entry, answering ``/healthz`` when entered, stopped on exit. With
    ``card_workers``, a second Celery worker of that many processes takes the cards queue
    (card sends and updates) and the first one only the default queue; without, the one
    worker takes both, as ``dev.py up`` runs it. With ``sandbox_port``, the Feishu sandbox
    gets a gunicorn of its own there (``SANDBOX_WEB_WORKERS`` x ``SANDBOX_THREADS``), whose
    CPU is counted apart. With ``access_log``, the console's gunicorn writes each request's
    method, path, status and time (µs) there. With ``worker_log``, the Celery workers log at
    INFO there (one "succeeded in" line per task, with its time). With ``beat``, Celery beat
    runs too (its sweeps repair what a lost task left undone), as a process of its own. With
    ``output``, the servers write their logs there rather than to the terminal. With
    ``webhook_workers``, a Celery worker of that many processes takes the outbound webhooks'
    queue, as ``dev.py up`` runs one. ``kill`` and
    ``respawn`` stop and start one server again (the fault drill). Every server counts the SQL
    statements its processes run (``STATEMENT_COUNT_DIR``, ``statements``)."""

    def __init__(
        self,
        env: dict[str, str],
        *,
        port: int,
        web_workers: int,
        task_workers: int,
        threads: int = 4,
        card_workers: int = 0,
        sandbox_port: int | None = None,
        access_log: Path | None = None,
        worker_log: Path | None = None,
        beat: bool = False,
        output: Path | None = None,
        webhook_workers: int = 0,
    ):
        self.env = env
        self.port = port
        self.web_workers = web_workers
        self.task_workers = task_workers
        self.card_workers = card_workers
        self.threads = threads
        self.sandbox_port = sandbox_port
        self.access_log = access_log
        self.worker_log = worker_log
        self.beat = beat
        self.webhook_workers = webhook_workers
        self.output = output.open("ab") if output else None
        self.processes: list[subprocess.Popen] = []
        self.names: list[str] = []
        self.commands: list[Sequence[str]] = []
        self.statements_dir = Path(tempfile.mkdtemp(prefix="oncall-bench-statements-"))

    def __enter__(self) -> Servers:
        try:
            log = self.access_log
            logging = ["--access-logfile", str(log), "--access-logformat", ACCESS_LOG_FORMAT]
            web = gunicorn(self.port, self.web_workers, self.threads, *(logging if log else []))
            self._spawn("web", web)
            if self.sandbox_port:
                sandbox = gunicorn(self.sandbox_port, SANDBOX_WEB_WORKERS, SANDBOX_THREADS)
                self._spawn("sandbox", sandbox)
            if self.card_workers:
                default, cards = queues()
                self._spawn("workers", self._celery(self.task_workers, default))
                self._spawn("card workers", self._celery(self.card_workers, cards))
            else:
                self._spawn("workers", self._celery(self.task_workers))
            if self.webhook_workers:
                self._spawn("webhook workers", self._celery(self.webhook_workers, webhooks()))
            if self.beat:
                self._spawn("beat", self._celery_beat())
            wait_for_web(self.port)
            if self.sandbox_port:
                wait_for_web(self.sandbox_port)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _celery(self, processes: int, queue: str | None = None) -> list[str]:
        """A Celery worker of ``processes`` processes on ``queue`` (None: every queue)."""
        return [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "oncall",
            "--quiet",  # no banner between the tables
            "worker",
            *(["--queues", queue] if queue else []),
            "--concurrency",
            str(processes),
            *(
                ["--loglevel", "INFO", "--logfile", str(self.worker_log)]
                if self.worker_log
                else ["--loglevel", "WARNING"]
            ),
            "--without-gossip",
            "--without-mingle",
        ]

    def _celery_beat(self) -> list[str]:
        return [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "oncall",
            "--quiet",
            "beat",
            "--loglevel",
            "WARNING",
        ]

    def _spawn(self, name: str, command: Sequence[str]) -> None:
        self.processes.append(self._start(name, command))
        self.names.append(name)
        self.commands.append(command)

    def _start(self, name: str, command: Sequence[str]) -> subprocess.Popen:
        # A session of its own: the terminal's Ctrl-C goes to the benchmark alone, which stops
        # the whole group, pool children included.
        counted = self.statements_dir / _kind(name)
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, "STATEMENT_COUNT_DIR": str(counted)},
            start_new_session=True,
            stdout=self.output,
            stderr=self.output,
        )

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        """Send ``signum`` to every process of server ``name``'s group (pool children too), as
        the kernel's OOM killer or a lost machine would end them, and reap its leader."""
        process = self.processes[self.names.index(name)]
        _signal_group(process, signum)
        process.wait()

    def respawn(self, name: str) -> None:
        """Start server ``name`` again with the command it was started with."""
        index = self.names.index(name)
        self.processes[index] = self._start(name, self.commands[index])

    def ended(self) -> list[str]:
        """The servers whose main process has ended (crashed, or killed and not started again)."""
        return [n for n, p in zip(self.names, self.processes, strict=True) if p.poll() is not None]

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time used so far by the web server ("web"), all Celery workers ("workers", card
        workers included) and the sandbox's own server, if any ("sandbox")."""
        used = {"web": 0.0, "workers": 0.0, "sandbox": 0.0}
        groups = groups_cpu_seconds({process.pid for process in self.processes})
        for name, process in zip(self.names, self.processes, strict=True):
            used[_kind(name)] += groups[process.pid]
        return used

    def statements(self) -> dict[str, int]:
        """SQL statements run so far by the web server, the Celery workers and the sandbox's
        own server, as ``cpu_seconds`` groups them (processes that ended included)."""
        from oncall.statement_count import read_total

        return {kind: read_total(self.statements_dir / kind) for kind in SERVER_KINDS}

    def stop(self) -> None:
        """SIGTERM to each server's main process (gunicorn and Celery stop their own workers),
        then SIGKILL to whatever is left of its group after the grace period (a Celery task may
        be sleeping in a rate limiter: nothing here needs it finished)."""
        for process in self.processes:
            process.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes:
            _signal_group(process, signal.SIGKILL)  # orphaned children of a stopped leader
            process.wait()
        self.processes, self.names, self.commands = [], [], []
        if self.output:
            self.output.close()
            self.output = None


SERVER_KINDS = ("web", "workers", "sandbox")


def _kind(name: str) -> str:
    """How a server's costs are grouped: its web server, the sandbox's, or a Celery worker."""
    return name if name in ("web", "sandbox") else "workers"


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes of group ``pgid`` and of the children
    they reaped (Linux ``/proc``; 0.0 elsewhere)."""
    return groups_cpu_seconds({pgid})[pgid]


def groups_cpu_seconds(pgids: set[int]) -> dict[int, float]:
    """``group_cpu_seconds`` of each group, in one pass over ``/proc`` (a pass takes about 10 ms
    on a busy machine: a benchmark reads them between two of its timings)."""
    ticks = dict.fromkeys(pgids, 0)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # Fields after the command name (which may hold spaces) start at "state" (3rd).
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended meanwhile
        group = int(fields[2])
        if group in ticks:
            ticks[group] += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return {group: value / os.sysconf("SC_CLK_TCK") for group, value in ticks.items()}


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, summed over cores (Linux)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


@dataclass
class Usage:
    """CPU used while a phase ran: by the web (console, and the sandbox unless it has a server
    of its own), by the task workers, by the sandbox's own server, and how busy the whole
    machine was (PostgreSQL, Redis and anything else included); and the SQL statements the web
    and the workers ran."""

    web: float
    workers: float
    machine_busy: float
    sandbox: float = 0.0
    web_statements: int = 0
    worker_statements: int = 0

    def cost_cells(self, count: int) -> list[str]:
        """Per event (of ``count``): web and worker CPU milliseconds and SQL statements, the
        cells under ``cost_header``. So that a change in cost shows at once, even when the
        machine's other load moves the rates."""
        if not count:
            return ["-"] * len(cost_header())
        return [
            f"{self.web / count * 1000:.2f}",
            f"{self.workers / count * 1000:.2f}",
            f"{self.web_statements / count:.1f}",
            f"{self.worker_statements / count:.1f}",
        ]

    def describe(self, during: str, count: int, unit: str) -> str:
        """One line; ``count`` ``unit``s (cards, clicks) share the cost."""
        web, workers = (
            (self.web / count * 1000, self.workers / count * 1000)
            if count
            else (float("nan"), float("nan"))
        )
        web_name = "web (console)" if self.sandbox else "web (console + sandbox)"
        apart = f"; the sandbox (Feishu's part) {self.sandbox:.1f} s" if self.sandbox else ""
        statements = self.web_statements + self.worker_statements
        per = f"{statements / count:.1f}" if count else "-"
        return (
            f"CPU {during}: {web_name} {self.web:.1f} s, workers "
            f"{self.workers:.1f} s, per {unit} {web:.1f} ms web + {workers:.1f} ms workers"
            f"{apart}; the machine was {self.machine_busy:.0%} busy ({os.cpu_count()} cores); "
            f"SQL statements {self.web_statements:,} web + {self.worker_statements:,} workers, "
            f"{per} per {unit}"
        )


def cost_header(unit: str = "ev") -> list[str]:
    """The column titles of ``Usage.cost_cells``, per ``unit`` (ev, card, click)."""
    return [f"web CPU ms/{unit}", f"worker CPU ms/{unit}", f"web SQL/{unit}", f"worker SQL/{unit}"]


class CpuMeter:
    """Measures ``Usage`` of ``servers`` and of the machine from its creation until ``read``:
    CPU time from ``/proc`` and statements from the servers' counts."""

    def __init__(self, servers: Servers):
        self.servers = servers
        self.groups = servers.cpu_seconds()
        self.statements = servers.statements()
        self.machine = machine_cpu()

    def read(self) -> Usage:
        groups = self.servers.cpu_seconds()
        statements = self.servers.statements()
        busy, total = machine_cpu()
        spent = total - self.machine[1]
        return Usage(
            web=groups["web"] - self.groups["web"],
            workers=groups["workers"] - self.groups["workers"],
            sandbox=groups["sandbox"] - self.groups["sandbox"],
            machine_busy=(busy - self.machine[0]) / spent if spent else float("nan"),
            web_statements=statements["web"] - self.statements["web"],
            worker_statements=statements["workers"] - self.statements["workers"],
        )


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has ended
        os.killpg(process.pid, signum)


def wait_until(done: Callable[[], bool], failure: str, *, timeout: float, every: float) -> float:
    """Ask ``done`` every ``every`` seconds until it says yes; returns when it did (monotonic
    seconds). Past ``timeout`` the benchmark ends with ``failure``: its figures would be wrong."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return time.monotonic()
        time.sleep(every)
    sys.exit(failure)


def wait_for_web(port: int, timeout: float = 60) -> None:
    def answers() -> bool:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    failure = f"gunicorn did not answer /healthz within {timeout:g} s"
    wait_until(answers, failure, timeout=timeout, every=0.3)


def print_rows(rows: Sequence[Sequence[Any]]) -> None:
    """A right-aligned table whose first row is the header, underlined."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    for i, row in enumerate(cells):
        print("  ".join(cell.rjust(widths[j]) for j, cell in enumerate(row)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``sorted_values`` lie (nearest rank, as the
    ingestion benchmark has always computed its p99)."""
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * fraction))]
