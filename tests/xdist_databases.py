"""Which Redis database a pytest-xdist process uses (tests/settings.py says why)."""

from urllib.parse import urlsplit, urlunsplit


def redis_url_for_worker(base: str, worker: str) -> str:
    """``base`` (a redis:// URL) with the database of xdist process ``worker`` ("gw1")."""
    parts = urlsplit(base)
    database = int(parts.path.strip("/") or 0)
    index = int(worker.removeprefix("gw") or 0)
    return urlunsplit(parts._replace(path=f"/{(database - index) % 16}"))
