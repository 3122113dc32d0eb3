"""kombu's Redis transport, publishing through one Redis client per channel.

kombu's Redis channel builds a new ``redis.Redis`` object for every message it publishes
(``Channel.conn_or_acquire``), on the channel's connection pool; building one copies redis-py's
table of ~170 response callbacks, about 50 µs here, a fifth of a task's publish and 3 % of a
one-alert push's CPU. The object holds no connection of its own (each command takes one from
the pool and gives it back), so one object per channel and pool does the same. A new pool
(kombu makes one after a fork) gets a new object. ``CELERY_BROKER_TRANSPORT`` names this
transport for ``redis://`` brokers (``oncall.settings``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis


class Channel(redis.Channel):
    # The pool the kept client was made on, and the client.
    _kept_client: tuple[Any, Any] | None = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        pool = self.pool
        kept = self._kept_client
        if kept is None or kept[0] is not pool:
            kept = self._kept_client = (pool, self._create_client())
        yield kept[1]


class Transport(redis.Transport):
    Channel = Channel
