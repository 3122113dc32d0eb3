#!/usr/bin/env python3
"""The console's development entry point; needs only Python 3.11.

    python3 dev.py up      run the console: web + worker + beat on the embedded default
    python3 dev.py test    ruff, import contracts, the suite on SQLite, then PostgreSQL + Redis
    python3 dev.py bench [ingest|delivery] [args...]
                           a benchmark (PostgreSQL, Redis, gunicorn, workers): ingestion
                           (the default) or Feishu card delivery; --help lists its options
    python3 dev.py drill [args...]
                           the fault drill: alerts pushed while the broker, a worker,
                           PostgreSQL connections and Feishu fail; a table of lost and
                           duplicated alerts, incidents and cards per fault (--help)
    python3 dev.py lock    regenerate requirements.lock from pyproject.toml

Every command first creates ``.venv`` and installs ``requirements.lock`` into it when the lock
changed since the last install.
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
LOCK = ROOT / "requirements.lock"
STAMP = VENV / ".requirements.sha256"

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
    wanted = hashlib.sha256(LOCK.read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing requirements.lock")
    run(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", LOCK)
    STAMP.write_text(wanted)


def answers(url_host: str, port: int) -> bool:
    try:
        with socket.create_connection((url_host, port), timeout=1):
            return True
    except OSError:
        return False


# --- up --------------------------------------------------------------------------------------


def cmd_up() -> None:
    ensure_venv()
    env = {**os.environ, "DEBUG": os.environ.get("DEBUG", "true")}
    host, port = env.get("HOST", "127.0.0.1"), env.get("PORT", "8000")
    env.setdefault("PUBLIC_BASE_URL", f"http://{host}:{port}")
    run(PY, "manage.py", "migrate", "--no-input", env=env)
    run(PY, "manage.py", "compile_translations", env=env)
    run(PY, "manage.py", "ensure_admin", env=env)
    # A demo tenant in the Feishu sandbox (people, chats, an app to connect) and its URL. The
    # sandbox is installed (and has its command) unless FEISHU_SANDBOX_ENABLED turns it off.
    sandbox = env.get("FEISHU_SANDBOX_ENABLED", env["DEBUG"]).strip().lower()
    if sandbox not in {"0", "false", "no", "off"}:
        run(PY, "manage.py", "sandbox_seed", "--console-url", env["PUBLIC_BASE_URL"], env=env)
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
    }
    say(f"console on {env['PUBLIC_BASE_URL']}/ (Ctrl-C stops web, worker and beat)")
    say(f"administration on {env['PUBLIC_BASE_URL']}/admin/")
    supervise(processes, env)


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
    say("tests on SQLite with the filesystem broker")
    run(PY, "-m", "pytest", "-m", "not postgres", *extra, env=base_env)
    if not (answers("127.0.0.1", 5432) and answers("127.0.0.1", 6379)):
        if os.environ.get("CI"):
            say("PostgreSQL or Redis does not answer on loopback: CI needs both")
            sys.exit(1)
        say("PostgreSQL or Redis does not answer on loopback: skipped the PostgreSQL run")
        return
    say("tests on PostgreSQL with Redis as the broker (and a real Celery worker)")
    pg_env = {**base_env, "DATABASE_URL": PG_URL, "CELERY_BROKER_URL": REDIS_URL}
    run(PY, "-m", "pytest", *extra, env=pg_env)


# --- bench, lock -----------------------------------------------------------------------------


BENCHMARKS = ("ingest", "delivery", "clicks")


def cmd_bench(extra: list[str]) -> None:
    """``bench [ingest|delivery|clicks] [args...]``: without a name (or with options only) the
    ingestion benchmark, as before there were two."""
    name, args = "ingest", extra
    if extra and not extra[0].startswith("-"):
        name, args = extra[0], extra[1:]
    if name not in BENCHMARKS:
        sys.exit(f"Unknown benchmark {name!r}: choose one of {', '.join(BENCHMARKS)}.")
    ensure_venv()
    sys.exit(run_until_done([PY, "-m", f"tests.benchmarks.{name}", *args]))


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


def cmd_lock() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        builder = Path(tmp) / "venv"
        venv.EnvBuilder(with_pip=True).create(builder)
        pip = builder / "bin" / "pip"
        run(pip, "install", "--quiet", "--disable-pip-version-check", f"{ROOT}[dev]")
        frozen = subprocess.run(
            [str(pip), "freeze", "--exclude", "oncall-console"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    header = (
        "# Exact versions for reproducible installs (runtime + dev). Regenerate: "
        "python3 dev.py lock\n"
    )
    LOCK.write_text(header + frozen)
    say(f"wrote {LOCK.name}")


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
            cmd_lock()
        case _:
            print(__doc__)
            sys.exit(0 if command in {"help", "-h", "--help"} else 2)


if __name__ == "__main__":
    main(sys.argv[1:])
