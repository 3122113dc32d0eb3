"""Rate limits shared by every process of the console (web workers, Celery workers), for every
chat platform: a platform names its limits (its documented figures, in its own package) and
asks here for room before each call or message.

Algorithm: **sliding windows**, counted as the platforms' gateways (and the sandboxes) count
them: a ``Limit(key, limit, per_seconds)`` admits a call when the call ``limit`` places before it
was admitted at least ``per_seconds`` ago, so no span of ``per_seconds``, wherever it starts,
holds more than ``limit`` calls. Each limit keeps the admission times of its last ``limit`` calls
(a ring: a Redis list, or one database row per place) and reads one of them per call.

Windows aligned to the clock (what Feishu's client counted before) let a run that starts late in
a minute send its second thousand right after the minute's edge, while the first thousand are
still inside Feishu's minute: a 2,000-card fan-out starting at :31 had 1,000 sends refused with
99991400 and took 108 s where the limits allow 79 (tests/feishu/test_fanout_pacing.py).

``acquire(limits)`` is all-or-nothing: it counts one call against every limit, or, when any of
them is full, counts nothing and returns the seconds until the last of them has room. Two
backends:

- ``RedisLimiter``: one Lua script, atomic on the Redis server; time from Redis ``TIME`` so that
  hosts with skewed clocks still agree.
- ``DatabaseLimiter``: rows of the platform's rate-window model (an ``AbstractRateWindow`` of
  ``integrations.chatkit.rate_windows``), one per limit (locked with ``select_for_update``, its
  ``count`` the ring's next place) and one per place in the ring, all in one transaction (on
  SQLite the IMMEDIATE transaction mode of the settings serialises writers instead); time from
  this host's clock.

``default_limiter(model)`` chooses between them; ``wait_for`` is the one "wait in place or give
the wait back" decision: it sleeps while the wait fits in ``max_wait`` and otherwise raises the
caller's error with ``retry_after``, so that a Celery task sends again later rather than hold a
worker.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.db import models, transaction

Clock = Callable[[], float]
DEFAULT_MAX_WAIT = 30.0
MAX_KEY_LENGTH = 200
# Rows whose calls left their window longer ago than this are deleted when new limit keys
# appear (per-message and per-receiver keys would otherwise accumulate in the database).
STALE_AFTER_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` calls in any ``per_seconds`` for everything sharing ``key``.

    ``guard_ms``: a call's place frees ``guard_ms`` after it left the window, not at once. The
    server counts calls when they arrive, and two calls a window apart here may arrive less
    than a window apart there when the first took longer to get there; the guard absorbs that
    difference in latency."""

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
        if len(key) > MAX_KEY_LENGTH:  # fits a rate window's key (255) whatever a receiver id is
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


# KEYS: one list per limit, the admission times (ms) of its last `limit` calls, newest first.
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
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 1])
  local period = tonumber(ARGV[3 * i])
  local guard = tonumber(ARGV[3 * i + 1])
  local place = redis.call('LINDEX', key, limit - 1)
  if place then
    local frees = tonumber(place) + period + guard - now
    if frees > wait then wait = frees end
  end
end
if wait > 0 then return wait end
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[3 * i - 1])
  local period = tonumber(ARGV[3 * i])
  local guard = tonumber(ARGV[3 * i + 1])
  redis.call('LPUSH', key, now)
  redis.call('LTRIM', key, 0, limit - 1)
  redis.call('PEXPIRE', key, period + guard + 1000)
end
return 0
"""


class RedisLimiter:
    """Limits counted in Redis by one atomic Lua script (see the module docstring)."""

    def __init__(
        self,
        redis_url: str,
        *,
        # Not the fixed windows' "oncall:ratelimit:" (hashes): during an upgrade, a process of
        # either version must not meet the other's type under its key.
        prefix: str = "oncall:ratelog:",
        clock: Clock | None = None,
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
    """Limits counted in rows of ``model`` (a platform's ``AbstractRateWindow``), for the
    embedded default without Redis.

    A limit's own row (its storage key) is locked while it counts: its ``count`` is the ring's
    next place, ``window_start_ms`` its last call. Place ``i`` is the row ``<key>#<i>``, whose
    ``window_start_ms`` is the admission time of the call made there ``limit`` calls ago.
    ``window_end_ms`` is when a row stops mattering (its call left the window), for ``purge``.

    Call it outside long transactions: inside one, the row locks it takes last until that
    transaction ends, and every other process acquiring the same limits waits for it."""

    def __init__(
        self,
        model: type[models.Model],
        *,
        clock: Clock = time.time,
        using: str | None = None,
    ):
        self.model = model
        self._clock = clock
        self._using = using

    def acquire(self, limits: Sequence[Limit]) -> float:
        chosen = strictest_per_key(limits)
        if not chosen:
            return 0.0
        now = int(self._clock() * 1000)
        manager = self.model._default_manager.db_manager(self._using)
        with transaction.atomic(using=self._using):
            heads, created = self._lock_rows(sorted(chosen))
            place_keys = {
                key: place_key(key, heads[key].count % limit.limit) for key, limit in chosen.items()
            }
            places = manager.in_bulk(list(place_keys.values()), field_name="key")
            wait = 0
            for key, limit in chosen.items():
                place = places.get(place_keys[key])
                if place is not None:
                    frees = place.window_start_ms + limit.per_seconds * 1000 + limit.guard_ms
                    wait = max(wait, frees - now)
            if wait > 0:
                return wait / 1000
            self._count(manager, chosen, heads, place_keys, now)
        if created:
            self.purge(now - STALE_AFTER_MS)
        return 0.0

    def _count(
        self, manager, chosen: dict[str, Limit], heads: dict, place_keys: dict, now: int
    ) -> None:
        """The call takes each ring's next place (one upsert); the rings move on (one update)."""
        taken = []
        for key, limit in chosen.items():
            end = now + limit.per_seconds * 1000 + limit.guard_ms
            head = heads[key]
            head.count = (head.count + 1) % limit.limit
            head.window_start_ms, head.window_end_ms = now, end
            taken.append(
                self.model(key=place_keys[key], window_start_ms=now, window_end_ms=end, count=0)
            )
        manager.bulk_update(list(heads.values()), ["count", "window_start_ms", "window_end_ms"])
        manager.bulk_create(
            taken,
            update_conflicts=True,
            unique_fields=["key"],
            update_fields=["window_start_ms", "window_end_ms"],
        )

    def _lock_rows(self, storage_keys: list[str]) -> tuple[dict, bool]:
        """Lock one row per key, creating missing rows first; always locks in key order."""
        manager = self.model._default_manager.db_manager(self._using)
        rows = self._select(manager, storage_keys)
        created = len(rows) < len(storage_keys)
        if created:
            # ignore_conflicts: another process may create the same row at the same moment.
            manager.bulk_create(
                [
                    self.model(key=key, window_start_ms=0, window_end_ms=0, count=0)
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
        """Delete rows whose calls left their window before ``before_ms`` (limits and places
        alike: a missing place is a free one), skipping rows another process holds."""
        manager = self.model._default_manager.db_manager(self._using)
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


def place_key(storage_key: str, place: int) -> str:
    """The row of one place in a limit's ring (``DatabaseLimiter``); fits a rate window's key."""
    return f"{storage_key}#{place}"


def default_limiter(model: type[models.Model]) -> Limiter:
    """Redis when ``settings.REDIS_URL`` is set, else the database's ``model`` (the platform's
    rate windows; the setting is read on every call).

    The Redis limiter is made once per process and URL: its connection pool is thread-safe
    and redis-py renews it in a forked child, while a new limiter per call (per card sent)
    opened a new connection each time."""
    redis_url = getattr(settings, "REDIS_URL", None)
    if redis_url:
        return _redis_limiter(redis_url)
    return DatabaseLimiter(model)


@functools.lru_cache(maxsize=8)
def _redis_limiter(redis_url: str) -> RedisLimiter:
    return RedisLimiter(redis_url)


class WaitTooLong(Exception):
    """The limits have no room within ``max_wait``: try again after ``retry_after`` seconds.
    (A platform passes its own rate-limit error to ``wait_for`` instead, for its tasks.)"""

    def __init__(self, msg: str, *, retry_after: float):
        super().__init__(msg)
        self.retry_after = retry_after


class TooLong(Protocol):
    """Makes the error ``wait_for`` raises: the message, and the wait it would have needed."""

    def __call__(self, msg: str, *, retry_after: float) -> Exception: ...


def wait_for(
    limiter: Limiter,
    limits: Sequence[Limit],
    *,
    sleep: Callable[[float], object] = time.sleep,
    max_wait: float = DEFAULT_MAX_WAIT,
    too_long: TooLong = WaitTooLong,
    what: str = "the console's own rate limit",
) -> float:
    """Acquire ``limits``, sleeping as the limiter says; returns the seconds slept.

    Raises ``too_long(..., retry_after=wait)`` (a platform's rate-limit error) instead of
    sleeping past ``max_wait`` in total, so that a Celery task can send again later rather than
    hold a worker. ``what`` names the limits in its message.
    """
    waited = 0.0
    while True:
        wait = limiter.acquire(limits)
        if wait <= 0:
            return waited
        if waited + wait > max_wait:
            raise too_long(
                f"{what} would need more than {max_wait:g} s of waiting", retry_after=wait
            )
        sleep(wait)
        waited += wait
