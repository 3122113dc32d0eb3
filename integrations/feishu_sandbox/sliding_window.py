"""The sandbox's rate limits: **sliding windows**, as a server that counts calls as they arrive.

A ``Limit(key, limit, per_seconds)`` admits a call when fewer than ``limit`` calls were admitted
in the ``per_seconds`` before it, whenever "now" is (as the console's own client-side limiter,
``integrations.chatkit.ratelimit``, counts too). Windows aligned to the clock would let up to
twice the limit through across a window's edge: 50 calls at 0.9 s and 50 more at 1.1 s; a peer
that is meant to catch a client going too fast must not. The price is a log of the admitted
calls (at most ``limit`` per key), which is small for Feishu's limits (50/s, 1000/min, 5/s).

The limits, their keys and the all-or-nothing contract are the console limiter's (``Limit``,
``Limiter``, ``strictest_per_key``): ``acquire(limits)`` returns 0.0 when the call was admitted
and counted against every limit, else the seconds until the oldest call that fills the fullest
window leaves it, with nothing counted. Two backends:

- Redis (``settings.REDIS_URL``): one sorted set per key, trimmed, counted and added to in one
  Lua script; each set expires a second after its window.
- The database: ``RateHit`` rows, counted while the key's ``RateKey`` row is locked; a key's
  hits older than its window go when it counts, and when a new key appears (a new message, a
  new receiver) every hit older than a minute and every key left without hits go too.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef

from integrations.chatkit.ratelimit import Limit, Limiter, strictest_per_key
from integrations.feishu_sandbox.models import RateHit, RateKey

Clock = Callable[[], float]
# The clock the sandbox's API counts with; None: the real time (the Redis server's with Redis,
# so that every process agrees; this host's with the database). Tests stop it.
CLOCK: Clock | None = None
# The longest window the sandbox counts (Feishu's per-minute limit): older hits are purged.
LONGEST_WINDOW_MS = 60_000
PURGE_BATCH = 1000


def _periods_ms(limits: Sequence[Limit]) -> dict[str, tuple[int, int]]:
    """``{storage key: (limit, period in ms)}``, the stricter of two limits on one key."""
    chosen = strictest_per_key(limits)
    for limit in chosen.values():
        if limit.per_seconds * 1000 > LONGEST_WINDOW_MS:
            raise ValueError(f"the sandbox counts windows of up to a minute, not {limit}")
    return {key: (limit.limit, limit.per_seconds * 1000) for key, limit in chosen.items()}


# KEYS: one sorted set per limit (members are unique ids, scores the admitted times in ms);
# the last key is a counter that makes members unique. ARGV[1]: now in ms, or "" for the Redis
# server's clock; then (limit, period ms) per limit.
# Returns 0 after adding the call to every set, else the ms to wait (nothing added).
_ACQUIRE_LUA = """
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local wait = 0
local n = #KEYS - 1
for i = 1, n do
  local limit = tonumber(ARGV[2 * i])
  local period = tonumber(ARGV[2 * i + 1])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - period)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit then
    -- the call that must leave first: the oldest of the last `limit`
    local oldest = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    local leaves = tonumber(oldest[2]) + period - now
    if leaves < 1 then leaves = 1 end
    if leaves > wait then wait = leaves end
  end
end
if wait > 0 then return wait end
local id = redis.call('INCR', KEYS[#KEYS])
for i = 1, n do
  local period = tonumber(ARGV[2 * i + 1])
  redis.call('ZADD', KEYS[i], now, now .. '-' .. id)
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

    def acquire(self, limits: Sequence[Limit]) -> float:
        chosen = _periods_ms(limits)
        if not chosen:
            return 0.0
        keys = [self._prefix + key for key in chosen] + [self._prefix + "#seq"]
        args: list[int | str] = [int(self._clock() * 1000) if self._clock else ""]
        for limit, period in chosen.values():
            args += [limit, period]
        return int(self._script(keys=keys, args=args)) / 1000


class DatabaseSlidingWindow:
    """The log in ``RateHit`` rows. Call it outside long transactions (its row locks last
    until the transaction ends)."""

    def __init__(self, *, clock: Clock = time.time):
        self._clock = clock

    def acquire(self, limits: Sequence[Limit]) -> float:
        chosen = _periods_ms(limits)
        if not chosen:
            return 0.0
        now = int(self._clock() * 1000)
        with transaction.atomic():
            new_keys = _lock(sorted(chosen))
            wait = max(_wait_ms(key, limit, period, now) for key, (limit, period) in chosen.items())
            if wait > 0:
                return wait / 1000
            RateHit.objects.bulk_create([RateHit(key=key, at_ms=now) for key in chosen])
            for key, (_limit, period) in chosen.items():
                RateHit.objects.filter(key=key, at_ms__lte=now - period).delete()
        if new_keys:
            purge(now - LONGEST_WINDOW_MS)
        return 0.0


def _lock(keys: list[str]) -> bool:
    """Lock one ``RateKey`` row per key, in key order, creating missing ones (True when it
    did). A row a purge deletes between the two steps is created again."""
    created = False
    while True:
        locked = set(
            RateKey.objects.select_for_update()
            .filter(key__in=keys)
            .order_by("key")
            .values_list("key", flat=True)
        )
        missing = [key for key in keys if key not in locked]
        if not missing:
            return created
        # ignore_conflicts: another process may create the same row at the same moment.
        RateKey.objects.bulk_create([RateKey(key=key) for key in missing], ignore_conflicts=True)
        created = True


def _wait_ms(key: str, limit: int, period: int, now: int) -> int:
    """0 when the window ending now has room for one more hit, else the ms until the oldest
    of its last ``limit`` hits leaves it."""
    recent = list(
        RateHit.objects.filter(key=key, at_ms__gt=now - period)
        .order_by("-at_ms")
        .values_list("at_ms", flat=True)[:limit]
    )
    if len(recent) < limit:
        return 0
    return max(1, recent[-1] + period - now)


def purge(before_ms: int) -> None:
    """Delete hits older than ``before_ms`` and keys no hit is left for, a batch at a time,
    skipping keys another process is counting."""
    with transaction.atomic():
        old = RateHit.objects.filter(at_ms__lte=before_ms).values_list("pk", flat=True)
        RateHit.objects.filter(pk__in=list(old[:PURGE_BATCH])).delete()
        idle = (
            RateKey.objects.select_for_update(skip_locked=True)
            .filter(~Exists(RateHit.objects.filter(key=OuterRef("key"))))
            .values_list("pk", flat=True)
        )
        RateKey.objects.filter(pk__in=list(idle[:PURGE_BATCH])).delete()


def sandbox_limiter() -> Limiter:
    """Redis when ``settings.REDIS_URL`` is set, else the database (read on every call); both
    on ``CLOCK``."""
    redis_url = getattr(settings, "REDIS_URL", None)
    if redis_url:
        return _redis_window(redis_url, CLOCK)
    return DatabaseSlidingWindow(clock=CLOCK or time.time)


@functools.lru_cache(maxsize=8)
def _redis_window(redis_url: str, clock: Clock | None) -> RedisSlidingWindow:
    return RedisSlidingWindow(redis_url, clock=clock)
