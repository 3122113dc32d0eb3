"""The sandbox's rate limits: **sliding windows**, as a server that counts calls as they arrive.

A ``Limit(key, limit, per_seconds)`` admits a call when fewer than ``limit`` calls were admitted
in the ``per_seconds`` before it, whenever "now" is. Windows aligned to the clock (what the
console's own client-side limiter uses, ``integrations.feishu.client.ratelimit``) let up to
twice the limit through across a window's edge: 50 calls at 0.9 s and 50 more at 1.1 s; a peer
that is meant to catch a client going too fast must not. The price is a log of the admitted
calls (at most ``limit`` per key), which is small for Feishu's limits (50/s, 1000/min, 5/s).

``acquire(limits)`` keeps the console limiter's contract (the ``Limiter`` protocol): 0.0 when
the call was admitted and counted against every limit, else the seconds until the oldest call
that fills the fullest window leaves it, with nothing counted. ``count`` admits that many calls
at once (all or none), as a burst arriving together. Two backends:

- Redis (``settings.REDIS_URL``): one sorted set per key, trimmed, counted and added to in one
  Lua script, with the Redis server's clock.
- The database: ``RateHit`` rows, counted while the key's ``RateKey`` row is locked.
"""

from __future__ import annotations

import functools
import hashlib
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import transaction

from integrations.feishu.client.ratelimit import Limit, Limiter

Clock = Callable[[], float]
# The longest window the sandbox counts (1000/min): older hits are deleted.
LONGEST_WINDOW_MS = 60_000


def _unique(limits: Sequence[Limit]) -> dict[str, Limit]:
    chosen: dict[str, Limit] = {}
    for limit in limits:
        current = chosen.get(limit.storage_key)
        if current is None or limit.limit < current.limit:
            chosen[limit.storage_key] = limit
    return chosen


def _short(storage_key: str) -> str:
    """A key that fits a 255-character column, however long a receiver id is."""
    if len(storage_key) <= 200:
        return storage_key
    return storage_key[:100] + "#" + hashlib.sha256(storage_key.encode()).hexdigest()


# KEYS: one sorted set per limit (members are unique ids, scores the admitted times in ms);
# the last key is a counter that makes members unique. ARGV[1]: now in ms, or "" for the Redis
# server's clock; ARGV[2]: how many calls; then (limit, period ms) per limit.
# Returns 0 after adding the calls to every set, else the ms to wait (nothing added).
_ACQUIRE_LUA = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local calls = tonumber(ARGV[2])
local wait = 0
local n = #KEYS - 1
for i = 1, n do
  local limit = tonumber(ARGV[2 * i + 1])
  local period = tonumber(ARGV[2 * i + 2])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - period)
  local count = redis.call('ZCARD', KEYS[i])
  if count + calls > limit then
    -- the calls that must leave first: the oldest count + calls - limit
    local index = count + calls - limit - 1
    local leaves = period
    if index < count then
      local oldest = redis.call('ZRANGE', KEYS[i], index, index, 'WITHSCORES')
      leaves = tonumber(oldest[2]) + period - now
    end
    if leaves < 1 then leaves = 1 end
    if leaves > wait then wait = leaves end
  end
end
if wait > 0 then return wait end
local last = redis.call('INCRBY', KEYS[#KEYS], calls)
for i = 1, n do
  local period = tonumber(ARGV[2 * i + 2])
  for id = last - calls + 1, last do
    redis.call('ZADD', KEYS[i], now, now .. '-' .. id)
  end
  redis.call('PEXPIRE', KEYS[i], period + 1000)
end
return 0
"""


class RedisSlidingWindow:
    def __init__(
        self, redis_url: str, *, prefix: str = "oncall:sandbox:window:", clock: Clock | None = None
    ):
        import redis  # the embedded default runs without Redis

        self._redis = redis.Redis.from_url(redis_url)
        self._script = self._redis.register_script(_ACQUIRE_LUA)
        self._prefix = prefix
        self._clock = clock  # None: the Redis server's clock

    def acquire(self, limits: Sequence[Limit], *, count: int = 1) -> float:
        chosen = _unique(limits)
        if not chosen:
            return 0.0
        keys = [self._prefix + _short(key) for key in chosen] + [self._prefix + "#seq"]
        args: list[int | str] = [int(self._clock() * 1000) if self._clock else "", count]
        for limit in chosen.values():
            args += [limit.limit, limit.per_seconds * 1000]
        return int(self._script(keys=keys, args=args)) / 1000


class DatabaseSlidingWindow:
    """The log in ``RateHit`` rows. Call it outside long transactions (its row locks last
    until the transaction ends)."""

    def __init__(self, *, clock: Clock = time.time):
        self._clock = clock

    def acquire(self, limits: Sequence[Limit], *, count: int = 1) -> float:
        from integrations.feishu_sandbox.models import RateHit

        chosen = {_short(key): limit for key, limit in _unique(limits).items()}
        if not chosen:
            return 0.0
        now = int(self._clock() * 1000)
        with transaction.atomic():
            self._lock(sorted(chosen))
            wait = max(self._wait_ms(key, limit, now, count) for key, limit in chosen.items())
            if wait > 0:
                return wait / 1000
            RateHit.objects.bulk_create(
                [RateHit(key=key, at_ms=now) for key in chosen for _ in range(count)]
            )
            old = now - LONGEST_WINDOW_MS
            RateHit.objects.filter(key__in=list(chosen), at_ms__lte=old).delete()
        return 0.0

    @staticmethod
    def _lock(keys: list[str]) -> None:
        from integrations.feishu_sandbox.models import RateKey

        RateKey.objects.bulk_create([RateKey(key=k) for k in keys], ignore_conflicts=True)
        list(RateKey.objects.select_for_update().filter(key__in=keys).order_by("key"))

    @staticmethod
    def _wait_ms(key: str, limit: Limit, now: int, count: int) -> int:
        """0 when the window ending now has room for ``count`` more hits, else the ms until
        enough of its hits have left."""
        from integrations.feishu_sandbox.models import RateHit

        period = limit.per_seconds * 1000
        if count > limit.limit:
            return period
        recent = list(
            RateHit.objects.filter(key=key, at_ms__gt=now - period)
            .order_by("-at_ms")
            .values_list("at_ms", flat=True)[: limit.limit]
        )
        room = limit.limit - count  # hits that may stay
        if len(recent) <= room:
            return 0
        return max(1, recent[room] + period - now)


def sandbox_limiter() -> Limiter:
    """Redis when ``settings.REDIS_URL`` is set, else the database (read on every call)."""
    redis_url = getattr(settings, "REDIS_URL", None)
    if redis_url:
        return _redis_window(redis_url)
    return DatabaseSlidingWindow()


@functools.lru_cache(maxsize=8)
def _redis_window(redis_url: str) -> RedisSlidingWindow:
    return RedisSlidingWindow(redis_url)
