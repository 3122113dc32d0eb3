"""A real Celery worker process for tests that need one (PostgreSQL + Redis stage only)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from oncall.celery import app as celery_app

WAIT_SECONDS = 60
T = TypeVar("T")


@contextmanager
def celery_worker(
    monkeypatch,
    *,
    queue: str | None = None,
    consume: tuple[str, ...] = ("default", "cards"),
    **env: str,
) -> Iterator[subprocess.Popen]:
    """``celery worker`` on queues of its own (``queue``, random unless given, and its cards
    queue ``<queue>-cards``), against the test database and Redis and the console's and
    sandbox's URLs as this test has set them (a live server's, say); this process's tasks go to
    those queues (not run eagerly) while it lasts. ``consume`` picks the queues the worker
    takes tasks from ("default", "cards"); ``env`` adds or overrides settings."""
    assert settings.CELERY_BROKER_URL.startswith("redis://"), "run with Redis as the broker"
    queue = queue or f"test-{uuid.uuid4().hex[:8]}"
    names = {"default": queue, "cards": f"{queue}-cards"}
    db = connection.settings_dict
    worker_env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_QUEUE": names["default"],
        "CELERY_CARDS_QUEUE": names["cards"],
        "PUBLIC_BASE_URL": settings.PUBLIC_BASE_URL,
        "FEISHU_SANDBOX_BASE_URL": settings.FEISHU_SANDBOX_BASE_URL,
        "OUTBOUND_ALLOWED_NETWORKS": ",".join(settings.OUTBOUND_ALLOWED_NETWORKS),
        **env,
    }
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "oncall",
        "worker",
        "--queues",
        ",".join(names[which] for which in consume),
        "--pool",
        "solo",
        "--without-gossip",
        "--without-mingle",
        "--loglevel",
        "WARNING",
    ]
    worker = subprocess.Popen(command, env=worker_env, cwd=settings.BASE_DIR)
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    monkeypatch.setitem(celery_app.conf, "task_default_queue", names["default"])
    try:
        with override_settings(CELERY_CARDS_QUEUE=names["cards"]):
            yield worker
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def wait_for(condition: Callable[[], T], what: str, seconds: float = WAIT_SECONDS) -> T:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := condition():
            return result
        time.sleep(0.2)
    pytest.fail(f"gave up after {seconds:g}s waiting for {what}")
