"""Rate limits shared by every process of the console (web workers, Celery workers).

Algorithm: **fixed windows**. A ``Limit(key, limit, per_seconds)`` allows ``limit`` calls in
each window ``[k * per_seconds, (k + 1) * per_seconds)`` counted from the Unix epoch, so all
processes agree on the window without talking to each other. Two neighbouring windows may hold
``2 * limit`` calls within one period across their boundary; Feishu's occasional 99991400 /
230020 answer for that is handled as ``RateLimited`` by the caller. It is chosen over a sliding
log because the same counters work on the database (one row per limit, not one per call).

``acquire(limits)`` is all-or-nothing: it counts one call against every limit, or, when any of
them is exhausted, counts nothing and returns the seconds until the latest-ending exhausted
window closes. Two backends:

- ``RedisLimiter``: one Lua script, atomic on the Redis server; time from Redis ``TIME`` so that
  hosts with skewed clocks still share windows.
- ``DatabaseLimiter``: rows of ``integrations.feishu.models.RateWindow`` locked with
  ``select_for_update`` in one transaction (on SQLite the IMMEDIATE transaction mode of the
  settings serialises writers instead); time from this host's clock.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import transaction

from integrations.feishu.client.errors import RateLimited

Clock = Callable[[], float]
DEFAULT_MAX_WAIT = 30.0
MAX_KEY_LENGTH = 200
# Windows whose end is older than this are deleted when new limit keys appear (per-message
# and per-receiver keys would otherwise accumulate in the database).
STALE_AFTER_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` calls per ``per_seconds`` for everything sharing ``key``.

    ``guard_ms``: admit nothing in the last ``guard_ms`` of a window. A call counted here late in
    a window reaches the server (which counts when it arrives) in the next one, on top of that
    window's full budget: the server would refuse it. The guard keeps both counts in the same
    window at the cost of at most ``guard_ms`` of waiting."""

    key: str
    limit: int
    per_seconds: int
    guard_ms: int = 0

    def __post_init__(self) -> None:
        if self.per_seconds < 1:
            raise ValueError(f"per_seconds must be at least 1, not {self.per_seconds}")
        if not 0 <= self.guard_ms < self.per_seconds * 1000:
            raise ValueError(f"guard_ms must be within the window, not {self.guard_ms}")

    @property
    def storage_key(self) -> str:
        key = self.key
        if len(key) > MAX_KEY_LENGTH:  # fits RateWindow.key (255) whatever a receiver id is
            key = key[:100] + "#" + hashlib.sha256(key.encode()).hexdigest()
        return f"{key}/{self.per_seconds}s"


class Limiter(Protocol):
    def acquire(self, limits: Sequence[Limit]) -> float:
        """0.0: the call may go now and was counted; else seconds to wait, nothing counted."""


def strictest_per_key(limits: Sequence[Limit]) -> dict[str, Limit]:
    """One entry per storage key; of two limits on one key and period the stricter wins."""
    chosen: dict[str, Limit] = {}
    for limit in limits:
        current = chosen.get(limit.storage_key)
        if current is None or limit.limit < current.limit:
            chosen[limit.storage_key] = limit
    return chosen


# KEYS: one hash per limit ({w: window start ms, n: count}).
# ARGV[1]: now in ms, or "" to use the Redis server's clock; then (limit, period ms, guard ms)
# per key.
# Returns 0 after counting the call against every key, else the ms to wait (nothing counted).
_ACQUIRE_LUA = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local wait = 0
local starts = {}
local counts = {}
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 1])
  local period = tonumber(ARGV[3 * i])
  local guard = tonumber(ARGV[3 * i + 1])
  local start = now - (now % period)
  local stored = redis.call('HMGET', key, 'w', 'n')
  local count = 0
  if tonumber(stored[1]) == start then count = tonumber(stored[2]) or 0 end
  starts[i] = start
  counts[i] = count
  local remaining = start + period - now
  if count + 1 > limit or remaining <= guard then
    if remaining > wait then wait = remaining end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local period = tonumber(ARGV[3 * i])
  redis.call('HSET', key, 'w', starts[i], 'n', counts[i] + 1)
  redis.call('PEXPIRE', key, period + 1000)
end
return 0
"""


class RedisLimiter:
    """Limits counted in Redis by one atomic Lua script (see the module docstring)."""

    def __init__(
        self, redis_url: str, *, prefix: str = "oncall:ratelimit:", clock: Clock | None = None
    ):
        import redis  # imported here: the embedded default runs without Redis

        self._redis = redis.Redis.from_url(redis_url)
        self._script = self._redis.register_script(_ACQUIRE_LUA)
        self._prefix = prefix
        self._clock = clock  # None: the Redis server's clock

    def acquire(self, limits: Sequence[Limit]) -> float:
        chosen = strictest_per_key(limits)
        if not chosen:
            return 0.0
        keys = [self._prefix + storage_key for storage_key in chosen]
        args: list[int | str] = [int(self._clock() * 1000) if self._clock else ""]
        for limit in chosen.values():
            args += [limit.limit, limit.per_seconds * 1000, limit.guard_ms]
        wait_ms = int(self._script(keys=keys, args=args))
        return wait_ms / 1000


class DatabaseLimiter:
    """Limits counted in ``RateWindow`` rows, for the embedded default without Redis.

    Call it outside long transactions: inside one, the row locks it takes last until that
    transaction ends, and every other process acquiring the same limits waits for it."""

    def __init__(self, *, clock: Clock = time.time, using: str | None = None):
        self._clock = clock
        self._using = using

    def acquire(self, limits: Sequence[Limit]) -> float:
        chosen = strictest_per_key(limits)
        if not chosen:
            return 0.0
        now = int(self._clock() * 1000)
        with transaction.atomic(using=self._using):
            rows, created = self._lock_rows(sorted(chosen))
            wait = 0
            plans = []
            for storage_key, limit in chosen.items():
                row = rows[storage_key]
                period = limit.per_seconds * 1000
                start = now - now % period
                count = row.count if row.window_start_ms == start else 0
                remaining = start + period - now
                if count + 1 > limit.limit or remaining <= limit.guard_ms:
                    wait = max(wait, remaining)
                plans.append((row, start, period, count))
            if wait:
                return wait / 1000
            for row, start, period, count in plans:
                row.window_start_ms, row.window_end_ms, row.count = start, start + period, count + 1
                row.save(update_fields=["window_start_ms", "window_end_ms", "count"])
        if created:
            self.purge(now - STALE_AFTER_MS)
        return 0.0

    def _lock_rows(self, storage_keys: list[str]) -> tuple[dict, bool]:
        """Lock one row per key, creating missing rows first; always locks in key order."""
        from integrations.feishu.models import RateWindow

        manager = RateWindow.objects.db_manager(self._using)
        rows = self._select(manager, storage_keys)
        created = len(rows) < len(storage_keys)
        if created:
            # ignore_conflicts: another process may create the same row at the same moment.
            manager.bulk_create(
                [
                    RateWindow(key=key, window_start_ms=0, window_end_ms=0, count=0)
                    for key in storage_keys
                    if key not in rows
                ],
                ignore_conflicts=True,
            )
            rows = self._select(manager, storage_keys)
        return rows, created

    @staticmethod
    def _select(manager, storage_keys: list[str]) -> dict:
        query = manager.select_for_update().filter(key__in=storage_keys).order_by("key")
        return {row.key: row for row in query}

    def purge(self, before_ms: int) -> int:
        """Delete windows that ended before ``before_ms``, skipping rows another process holds."""
        from integrations.feishu.models import RateWindow

        manager = RateWindow.objects.db_manager(self._using)
        with transaction.atomic(using=self._using):
            stale = list(
                manager.select_for_update(skip_locked=True)
                .filter(window_end_ms__lt=before_ms)
                .values_list("pk", flat=True)[:1000]
            )
            if not stale:
                return 0
            deleted, _ = manager.filter(pk__in=stale).delete()
        return deleted


def default_limiter() -> Limiter:
    """Redis when ``settings.REDIS_URL`` is set, else the database (read on every call).

    The Redis limiter is made once per process and URL: its connection pool is thread-safe
    and redis-py renews it in a forked child, while a new limiter per call (per card sent)
    opened a new connection each time."""
    redis_url = getattr(settings, "REDIS_URL", None)
    if redis_url:
        return _redis_limiter(redis_url)
    return DatabaseLimiter()


@functools.lru_cache(maxsize=8)
def _redis_limiter(redis_url: str) -> RedisLimiter:
    return RedisLimiter(redis_url)


def wait_for(
    limiter: Limiter,
    limits: Sequence[Limit],
    *,
    sleep: Callable[[float], object] = time.sleep,
    max_wait: float = DEFAULT_MAX_WAIT,
) -> float:
    """Acquire ``limits``, sleeping as the limiter says; returns the seconds slept.

    Raises ``RateLimited`` (with ``retry_after``) instead of sleeping past ``max_wait`` in total,
    so that a Celery task can reschedule itself rather than hold a worker.
    """
    waited = 0.0
    while True:
        wait = limiter.acquire(limits)
        if wait <= 0:
            return waited
        if waited + wait > max_wait:
            raise RateLimited(
                f"the console's own rate limit would need more than {max_wait:g} s of waiting",
                retry_after=wait,
            )
        sleep(wait)
        waited += wait
