"""Which Redis database a pytest-xdist process uses (tests/settings.py says why)."""

import os
from urllib.parse import urlsplit, urlunsplit


def redis_url_for_worker(base: str, worker: str) -> str:
    """``base`` (a redis:// URL) with the database of xdist process ``worker`` ("gw1")."""
    parts = urlsplit(base)
    database = int(parts.path.strip("/") or 0)
    index = int(worker.removeprefix("gw") or 0)
    return urlunsplit(parts._replace(path=f"/{(database - index) % 16}"))


def own_redis_url(base: str = "redis://127.0.0.1:6379/15") -> str:
    """The Redis database of this pytest-xdist process, for tests that talk to Redis directly:
    another process's ``cache.clear()`` empties its own database, never this one."""
    return redis_url_for_worker(base, os.environ.get("PYTEST_XDIST_WORKER", "gw0"))
