#!/usr/bin/env python3
"""The console's development entry point; needs only Python 3.11.

    python3 dev.py up      run the console on the embedded default: web, a worker with beat,
                           the outbound webhooks' worker, the alert e-mail listener (SMTP on
                           127.0.0.1:2525), the Feishu long-connection client
                           (feishu_connect), the DingTalk Stream mode client
                           (dingtalk_connect) and, with the sandboxes on, the Feishu sandbox's
                           long-connection server and the DingTalk sandbox's Stream server;
                           first it migrates, compiles the
                           translations, creates the admin account and seeds the sandbox
    python3 dev.py test    ruff, import contracts, the suite on SQLite, then PostgreSQL + Redis
    python3 dev.py bench [ingest|delivery|clicks|...|templates|webhooks] [args...]
                           a benchmark (PostgreSQL, Redis, gunicorn, workers): ingestion
                           (the default), Feishu card delivery, card clicks, one big push
                           and the small ones behind it, the insights page and API over a
                           year of incidents, resolving and drawing on-call schedules (no
                           servers; --sqlite for SQLite), or rendering cards from notification
                           templates (SQLite, no servers), or outbound webhooks (deliveries
                           per second; ingestion with a live and with a dead receiver);
                           --help lists options
    python3 dev.py drill [args...]
                           the fault drill: alerts pushed while the broker, a worker,
                           PostgreSQL connections and Feishu fail; a table of lost and
                           duplicated alerts, incidents and cards per fault (--help)
    python3 dev.py kinds [--write]
                           the README's table of alert-source kinds, from the registered
                           classes; --write puts it into README.md (a test keeps them equal)
    python3 dev.py lock [uv options]
                           re-lock requirements.lock (runtime) and requirements-dev.lock (tests,
                           tools) from pyproject.toml with hashes, keeping every pin it can;
                           e.g. --upgrade-package django moves one package

Every command first creates ``.venv`` and installs both locks into it, every file checked
against its hash, when a lock changed since the last install.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
PY = BIN / "python"
# What production installs, and what development adds on top of it (the same pins for shared
# packages); both with every file's hash. STAMP holds their digests as last installed.
LOCK = ROOT / "requirements.lock"
DEV_LOCK = ROOT / "requirements-dev.lock"
LOCKS = (LOCK, DEV_LOCK)
STAMP = VENV / ".requirements.sha256"
# The resolver that writes the locks (`lock` only: installing needs nothing but pip).
UV = "uv==0.13.8"

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgres://root@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT, env=env, check=False)
    if check and completed.returncode != 0:
        sys.exit(completed.returncode)
    return completed.returncode


def ensure_venv() -> None:
    if not PY.exists():
        say("creating the virtual environment in .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = "\n".join(hashlib.sha256(lock.read_bytes()).hexdigest() for lock in LOCKS)
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say(f"installing {LOCK.name} and {DEV_LOCK.name} (hash-checked)")
    # --require-hashes: a file whose hash is not in the lock, or a dependency the locks do not
    # pin, stops the install rather than installing something nobody reviewed.
    run(
        PY,
        *("-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--require-hashes"),
        *("-r", LOCK, "-r", DEV_LOCK),
    )
    STAMP.write_text(wanted)


def answers(url_host: str, port: int) -> bool:
    try:
        with socket.create_connection((url_host, port), timeout=1):
            return True
    except OSError:
        return False


# --- up --------------------------------------------------------------------------------------


def webhooks_queue(env: dict[str, str]) -> str:
    """The outbound webhooks' queue, named as oncall/settings.py names it."""
    return env.get("CELERY_WEBHOOKS_QUEUE") or f"{env.get('CELERY_QUEUE') or 'oncall'}-webhooks"


def cmd_up() -> None:
    ensure_venv()
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    env["PROMETHEUS_MULTIPROC_DIR"] = str(fresh_metrics_dir(env))
    run(PY, "manage.py", "migrate", "--no-input", env=env)
    run(PY, "manage.py", "compile_translations", env=env)
    run(PY, "manage.py", "ensure_admin", env=env)
    # A demo tenant in the Feishu sandbox (people, chats, an app to connect) and its URL. The
    # sandbox is installed (and has its command) unless FEISHU_SANDBOX_ENABLED turns it off.
    sandbox = env.get("FEISHU_SANDBOX_ENABLED", env["DEBUG"]).strip().lower()
    dingtalk_sandbox = env.get("DINGTALK_SANDBOX_ENABLED", sandbox).strip().lower()
    if sandbox not in {"0", "false", "no", "off"}:
        # The console calls its sandbox on loopback, which the outbound (SSRF) guard refuses
        # unless the operator allows it (README: OUTBOUND_ALLOWED_NETWORKS).
        env.setdefault("OUTBOUND_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")
        run(PY, "manage.py", "sandbox_seed", "--console-url", env["PUBLIC_BASE_URL"], env=env)
        # One DingTalk app on its sandbox, wired to the console (README: DingTalk).
        if dingtalk_sandbox not in {"0", "false", "no", "off"}:
            run(PY, "manage.py", "dingtalk_sandbox_seed", env=env)
    processes = {
        "web": [PY, "manage.py", "runserver", f"{host}:{port}", "--noreload"],
        # -B runs beat inside the worker: one process fewer on the embedded default. Without
        # -Q it takes tasks from every queue (the default one and the Feishu cards queue).
        "worker": [
            BIN / "celery",
            "-A",
            "oncall",
            "worker",
            "-B",
            "--loglevel",
            "INFO",
            "--concurrency",
            env.get("WORKER_CONCURRENCY", "2"),
        ],
        # Outbound webhooks: their own worker on their own queue, which the worker above does
        # not consume, so that a slow or dead receiver never holds ingestion or cards.
        "webhooks": [
            BIN / "celery",
            "-A",
            "oncall",
            "worker",
            "-Q",
            webhooks_queue(env),
            "-n",
            "webhooks@%h",
            "--loglevel",
            "INFO",
            "--concurrency",
            env.get("WEBHOOK_WORKER_CONCURRENCY", "4"),
        ],
        # E-mail in: the SMTP listener of the e-mail sources (README: E-mail), on
        # ALERT_SMTPD_HOST:ALERT_SMTPD_PORT (127.0.0.1:2525 unless set).
        "smtpd": [PY, "manage.py", "alert_smtpd"],
        # Feishu apps in long-connection mode: their sockets to Feishu (README: Feishu / Lark).
        "feishu_connect": [PY, "manage.py", "feishu_connect"],
        # DingTalk apps in Stream mode: their connections to DingTalk (README: DingTalk).
        "dingtalk_connect": [PY, "manage.py", "dingtalk_connect"],
    }
    if sandbox not in {"0", "false", "no", "off"}:
        # The sandbox's long-connection server, which feishu_connect's clients connect to for
        # Sandbox apps, on FEISHU_SANDBOX_SOCKET_ADDRESS (127.0.0.1:8766 unless set).
        processes["sandbox_socket"] = [PY, "manage.py", "sandbox_socket"]
    if {sandbox, dingtalk_sandbox}.isdisjoint({"0", "false", "no", "off"}):
        # The DingTalk sandbox's Stream server, which dingtalk_connect's clients connect to for
        # Sandbox apps, on DINGTALK_SANDBOX_STREAM_ADDRESS (127.0.0.1:8767 unless set).
        processes["dingtalk_sandbox_stream"] = [PY, "manage.py", "dingtalk_sandbox_stream"]
    smtpd = f"{env.get('ALERT_SMTPD_HOST', '127.0.0.1')}:{env.get('ALERT_SMTPD_PORT', '2525')}"
    say(f"console on {env['PUBLIC_BASE_URL']}/ (Ctrl-C stops them all)")
    say(f"alert e-mail by SMTP on {smtpd} (swaks --server {smtpd} --to <a source's address>)")
    say(f"administration on {env['PUBLIC_BASE_URL']}/admin/")
    say(f"Prometheus metrics on {env['PUBLIC_BASE_URL']}/metrics (README: Metrics)")
    supervise(processes, env)


def fresh_metrics_dir(env: dict[str, str]) -> Path:
    """Where web and worker write their counts for ``/metrics``, which sums them
    (prometheus_client's multiprocess mode), emptied of the previous run's: its counts would
    be summed too. Only the ``.db`` files prometheus_client writes are removed."""
    data_dir = Path(env.get("DATA_DIR") or ROOT / "var")
    directory = Path(env.get("PROMETHEUS_MULTIPROC_DIR") or data_dir / "prometheus")
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    return directory


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def supervise(processes: dict[str, list], env: dict[str, str]) -> None:
    """Run the processes until one ends or Ctrl-C; then stop them all."""
    running = {
        name: subprocess.Popen([str(a) for a in cmd], cwd=ROOT, env=env)
        for name, cmd in processes.items()
    }
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while all(p.poll() is None for p in running.values()):
            time.sleep(0.5)
        ended = [name for name, p in running.items() if p.poll() is not None]
        say(f"{', '.join(ended)} stopped; stopping the rest")
    except KeyboardInterrupt:
        say("stopping")
    for process in running.values():
        if process.poll() is None:
            process.terminate()
    for process in running.values():
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


# --- test ------------------------------------------------------------------------------------


def cmd_test(extra: list[str]) -> None:
    ensure_venv()
    say("ruff")
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    say("import contracts (the core imports no platform; platforms and sources stay apart)")
    run(BIN / "lint-imports", "--no-cache")
    base_env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL"}
    }
    say("tests on SQLite with the filesystem broker, in two processes (pytest-xdist)")
    # Each process has its own SQLite files and broker folder.
    run(PY, "-m", "pytest", "-m", "not postgres", "-n", "2", *extra, env=base_env)
    if not (answers("127.0.0.1", 5432) and answers("127.0.0.1", 6379)):
        if os.environ.get("CI"):
            say("PostgreSQL or Redis does not answer on loopback: CI needs both")
            sys.exit(1)
        say("PostgreSQL or Redis does not answer on loopback: skipped the PostgreSQL run")
        return
    say("tests on PostgreSQL with Redis as the broker (and a real Celery worker)")
    pg_env = {**base_env, "DATABASE_URL": PG_URL, "CELERY_BROKER_URL": REDIS_URL}
    # Two processes here too: pytest-django gives each its own test database (test_test_gw0,
    # test_test_gw1) and tests/settings.py its own Redis database (queues, cache, limits).
    run(PY, "-m", "pytest", "-n", "2", *extra, env=pg_env)


# --- bench, lock -----------------------------------------------------------------------------


BENCHMARKS = (
    "ingest",
    "delivery",
    "clicks",
    "big-push",
    "push-cost",
    "insights",
    "schedules",
    "templates",
    "webhooks",
)


def cmd_bench(extra: list[str]) -> None:
    """``bench [name] [args...]`` (a name of ``BENCHMARKS``): without a name (or with options
    only) the ingestion benchmark, as before there were others."""
    name, args = "ingest", extra
    if extra and not extra[0].startswith("-"):
        name, args = extra[0], extra[1:]
    if name not in BENCHMARKS:
        sys.exit(f"Unknown benchmark {name!r}: choose one of {', '.join(BENCHMARKS)}.")
    ensure_venv()
    module = name.replace("-", "_")
    sys.exit(run_until_done([PY, "-m", f"tests.benchmarks.{module}", *args]))


def run_until_done(command: list[str | Path]) -> int:
    """Run a benchmark in the foreground; a Ctrl-C reaches it too, so wait while it stops its
    servers rather than leave them running (a second Ctrl-C gives up waiting)."""
    process = subprocess.Popen([str(a) for a in command], cwd=ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        say("waiting for the benchmark to stop its servers")
        try:
            return process.wait()
        except KeyboardInterrupt:
            process.kill()
            return 130


def cmd_drill(extra: list[str]) -> None:
    """``drill [args...]``: the fault drill (``tests/benchmarks/drill.py``); exits 1 when it
    found a lost or duplicated alert, incident or card."""
    ensure_venv()
    sys.exit(run_until_done([PY, "-m", "tests.benchmarks.drill", *extra]))


def cmd_lock(extra: list[str]) -> None:
    """Resolve pyproject.toml into the runtime lock, then the dev extra into the dev lock
    constrained to the runtime lock's pins. uv prefers the versions already in each lock, so
    only what pyproject.toml or ``extra`` (``--upgrade-package NAME``, ``--upgrade``) asks for
    moves. The resolution is universal: markers keep one lock right for every Python 3.11.x
    and platform (redis wants async-timeout below 3.11.3, Windows gets tzdata)."""
    with tempfile.TemporaryDirectory() as tmp:
        tool = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True).create(tool)
        run(tool / "bin" / "pip", "install", "--quiet", "--disable-pip-version-check", UV)
        compile_args = [
            *(tool / "bin" / "uv", "pip", "compile", "pyproject.toml", "--quiet"),
            *("--universal", "--python-version", "3.11", "--generate-hashes"),
            *("--custom-compile-command", "python3 dev.py lock"),
        ]
        run(*compile_args, *extra, "--output-file", LOCK.name)
        dev_args = ("--extra", "dev", "--constraint", LOCK.name, "--output-file", DEV_LOCK.name)
        run(*compile_args, *extra, *dev_args)
    say(f"wrote {LOCK.name} and {DEV_LOCK.name}")


def main(argv: list[str]) -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit("The console needs Python 3.11 (Django 5.2 LTS); run it with python3.11.")
    command, *rest = argv or ["help"]
    match command:
        case "up":
            cmd_up()
        case "test":
            cmd_test(rest)
        case "bench":
            cmd_bench(rest)
        case "drill":
            cmd_drill(rest)
        case "lock":
            cmd_lock(rest)
        case "kinds":
            ensure_venv()
            sys.exit(run_until_done([PY, "manage.py", "source_kinds", *rest]))
        case _:
            print(__doc__)
            sys.exit(0 if command in {"help", "-h", "--help"} else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
