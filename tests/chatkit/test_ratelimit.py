"""The toolkit's rate limiter (``integrations.chatkit.ratelimit``), which every platform counts
its limits with: one contract on the database and on Redis. Windows slide: no span
of a limit's period, wherever it starts, holds more than its limit of calls.

Redis tests are marked ``postgres``: they run in the PostgreSQL + Redis stage, where Redis on
127.0.0.1:6379 is guaranteed. Each Redis test uses its own key prefix in its process's
database (15 for the first) and deletes it. The database limiter counts in the stub platform's
rate windows (``tests.stub_platform``), a platform's model like any other.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import Counter

import pytest
from django.db import connection

from integrations.chatkit import ratelimit
from integrations.chatkit.ratelimit import (
    DatabaseLimiter,
    Limit,
    RedisLimiter,
    WaitTooLong,
    default_limiter,
    wait_for,
)
from tests.chatkit.limiters import limiter_fixture, own_redis_prefix
from tests.clocks import FakeClock
from tests.xdist_databases import own_redis_url

REDIS_URL = own_redis_url()  # the database of this xdist process
T0 = 1_700_000_000.25  # a quarter of a second into a one-second window


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
def redis_prefix():
    with own_redis_prefix("ratelimit") as prefix:
        yield prefix


limiter = limiter_fixture("stub_platform.StubRateWindow", "ratelimit")


# --- The contract, on both backends ------------------------------------------------------------


def test_it_grants_up_to_the_limit_then_says_how_long_to_wait(limiter):
    three_per_second = [Limit("k", 3, 1)]

    assert [limiter.acquire(three_per_second) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire(three_per_second) == pytest.approx(1.0)  # the first call's second


def test_a_refused_call_is_not_counted(limiter, clock):
    one_per_second = [Limit("k", 1, 1)]
    limiter.acquire(one_per_second)

    for _ in range(5):
        assert limiter.acquire(one_per_second) > 0
    clock.advance(1.0)

    assert limiter.acquire(one_per_second) == 0.0


def test_each_place_frees_a_period_after_its_own_call(limiter, clock):
    two_per_second = [Limit("k", 2, 1)]
    limiter.acquire(two_per_second)
    clock.advance(0.5)  # binary fractions keep the fake clock exact
    limiter.acquire(two_per_second)
    assert limiter.acquire(two_per_second) == pytest.approx(0.5)

    clock.advance(0.5)  # the first call has left the window; the second has not

    assert limiter.acquire(two_per_second) == 0.0
    assert limiter.acquire(two_per_second) == pytest.approx(0.5)
    clock.advance(0.5)
    assert limiter.acquire(two_per_second) == 0.0


def test_a_window_edge_of_the_clock_lets_nothing_more_through(limiter, clock):
    """Aligned windows would admit a second full budget right after a minute's edge; the
    calls made just before it still count until they are a minute old."""
    clock.now = 1_700_000_059.5  # half a second before a minute's edge
    three_per_minute = [Limit("k", 3, 60)]
    assert [limiter.acquire(three_per_minute) for _ in range(3)] == [0.0] * 3

    clock.advance(1.0)  # in the next clock minute

    assert limiter.acquire(three_per_minute) == pytest.approx(59.0)


def test_several_limits_are_all_or_nothing(limiter):
    wide, narrow = Limit("app", 5, 1), Limit("receiver", 1, 1)
    assert limiter.acquire([wide, narrow]) == 0.0

    assert limiter.acquire([wide, narrow]) > 0  # the narrow one is spent: nothing counted

    # so the wide limit has counted 1 call, not 2: four more fit, the fifth does not
    assert [limiter.acquire([wide]) for _ in range(4)] == [0.0] * 4
    assert limiter.acquire([wide]) > 0


def test_it_waits_for_the_exhausted_window_that_ends_last(limiter):
    per_second, per_minute = Limit("app", 1, 1), Limit("app", 1, 60)
    limiter.acquire([per_second, per_minute])

    # the per-minute place frees a minute after the call, the per-second one a second after
    assert limiter.acquire([per_second, per_minute]) == pytest.approx(60.0)


def test_the_same_key_with_another_period_is_another_limit(limiter):
    limiter.acquire([Limit("app", 1, 1)])

    assert limiter.acquire([Limit("app", 1, 60)]) == 0.0
    assert limiter.acquire([Limit("other", 1, 1)]) == 0.0
    assert limiter.acquire([Limit("app", 1, 1)]) > 0


def test_no_limits_means_go(limiter):
    assert limiter.acquire([]) == 0.0


def test_a_very_long_key_still_works(limiter):
    key = "feishu:receiver:email:" + "x" * 500 + "@example.com"

    assert limiter.acquire([Limit(key, 1, 1)]) == 0.0
    assert limiter.acquire([Limit(key, 1, 1)]) > 0
    assert limiter.acquire([Limit(key[:-1] + "n", 1, 1)]) == 0.0


def test_wait_for_sleeps_until_the_limiter_grants(limiter, clock):
    limits = [Limit("k", 1, 1)]
    limiter.acquire(limits)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        clock.advance(seconds)

    assert wait_for(limiter, limits, sleep=sleep) == pytest.approx(1.0)
    assert slept == [pytest.approx(1.0)]
    assert limiter.acquire(limits) > 0  # wait_for's call was counted


def test_wait_for_raises_rather_than_wait_past_max_wait(limiter):
    limits = [Limit("k", 1, 60)]
    limiter.acquire(limits)

    with pytest.raises(WaitTooLong) as caught:
        wait_for(limiter, limits, sleep=pytest.fail, max_wait=10)

    assert caught.value.retry_after == pytest.approx(60.0)
    assert str(caught.value) == "the console's own rate limit would need more than 10 s of waiting"


def test_wait_for_raises_the_platforms_error_named_by_its_caller(limiter, clock):
    """A platform's tasks know its own rate-limit error: ``too_long`` makes it, ``what`` names
    the limits; a wait that fits is still slept first."""

    class Busy(Exception):
        def __init__(self, msg: str, *, retry_after: float):
            super().__init__(msg)
            self.retry_after = retry_after

    limits = [Limit("k", 2, 1)]
    limiter.acquire(limits)
    clock.advance(0.5)
    limiter.acquire(limits)

    assert wait_for(limiter, limits, sleep=clock.sleep, max_wait=0.5, too_long=Busy) == 0.5
    with pytest.raises(Busy) as busy:
        wait_for(
            limiter,
            limits,
            sleep=clock.sleep,
            max_wait=0.25,
            too_long=Busy,
            what="group:cid1's 2 messages",
        )

    assert str(busy.value) == "group:cid1's 2 messages would need more than 0.25 s of waiting"
    assert busy.value.retry_after == pytest.approx(0.5)
    assert clock.slept == [0.5]


# --- Backend specifics ---------------------------------------------------------------------------


def test_the_database_limiter_deletes_stale_windows_when_new_keys_appear(db, clock):
    from tests.stub_platform.models import StubRateWindow

    limiter = DatabaseLimiter(StubRateWindow, clock=clock)
    limiter.acquire([Limit("feishu:message:om_old", 5, 1)])
    clock.advance(ratelimit.STALE_AFTER_MS / 1000 + 2)

    limiter.acquire([Limit("feishu:message:om_new", 5, 1)])

    # the limit's row and the row of its one place
    assert sorted(StubRateWindow.objects.values_list("key", flat=True)) == [
        "feishu:message:om_new/1s",
        "feishu:message:om_new/1s#0",
    ]


@pytest.mark.postgres
def test_redis_uses_its_own_clock_when_none_is_given(redis_prefix):
    limiter = RedisLimiter(REDIS_URL, prefix=redis_prefix)
    two_per_hour = [Limit("k", 2, 3600)]

    assert limiter.acquire(two_per_hour) == 0.0
    assert limiter.acquire(two_per_hour) == 0.0
    assert 0 < limiter.acquire(two_per_hour) <= 3600


@pytest.mark.postgres
def test_redis_keys_expire_after_their_window(redis_prefix, clock):
    import redis

    RedisLimiter(REDIS_URL, prefix=redis_prefix, clock=clock).acquire([Limit("k", 1, 1)])

    ttl_ms = redis.Redis.from_url(REDIS_URL).pttl(f"{redis_prefix}k/1s")
    assert 0 < ttl_ms <= 2000


def test_default_limiter_is_redis_when_redis_url_is_set(settings):
    from tests.stub_platform.models import StubRateWindow

    settings.REDIS_URL = REDIS_URL  # building the client does not connect

    assert isinstance(default_limiter(StubRateWindow), RedisLimiter)


def test_the_redis_limiter_is_made_once_per_process_and_url(settings):
    from tests.stub_platform.models import StubRateWindow

    settings.REDIS_URL = REDIS_URL
    first = default_limiter(StubRateWindow)
    assert default_limiter(StubRateWindow) is first  # one connection pool, not one per card
    settings.REDIS_URL = REDIS_URL + "0"
    assert default_limiter(StubRateWindow) is not first


def test_default_limiter_is_the_database_without_redis(settings):
    from tests.stub_platform.models import StubRateWindow

    settings.REDIS_URL = None

    limiter = default_limiter(StubRateWindow)

    assert isinstance(limiter, DatabaseLimiter)
    assert limiter.model is StubRateWindow


# --- Several OS processes ------------------------------------------------------------------------

PROCESSES, ACQUISITIONS, PER_SECOND = 4, 20, 10


def _hammer(prefix: str, results) -> None:
    """In a child process: take ACQUISITIONS grants, recording the window of each."""
    now = [0.0]

    def clock() -> float:
        now[0] = time.time()
        return now[0]

    limiter = RedisLimiter(REDIS_URL, prefix=prefix, clock=clock)
    windows = []
    while len(windows) < ACQUISITIONS:
        wait = limiter.acquire([Limit("shared", PER_SECOND, 1)])
        if wait == 0:
            windows.append(int(now[0]))
        else:
            time.sleep(wait)
    results.put(windows)


@pytest.mark.postgres
def test_processes_sharing_redis_never_exceed_the_limit_in_any_window(redis_prefix):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [
        context.Process(target=_hammer, args=(redis_prefix, results)) for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    granted = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)

    per_window = Counter(window for windows in granted for window in windows)
    assert sum(per_window.values()) == PROCESSES * ACQUISITIONS
    assert max(per_window.values()) <= PER_SECOND
    # and the limiter does not starve them: most windows are used up to the limit
    assert len(per_window) <= PROCESSES * ACQUISITIONS // PER_SECOND + 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_threads_on_postgresql_never_exceed_the_limit_nor_lose_a_count(clock):
    """Row locks, not luck: 4 connections x 20 attempts in one window grant exactly 10,
    including the race to create the rows of two fresh keys."""
    from tests.stub_platform.models import StubRateWindow

    assert connection.vendor == "postgresql"
    limiter = DatabaseLimiter(StubRateWindow, clock=clock)  # a still clock: one window for all
    limits = [Limit("shared", PER_SECOND, 1), Limit("wide", 1000, 60)]
    barrier = threading.Barrier(PROCESSES)
    granted = Counter()

    def attempt() -> None:
        barrier.wait()
        try:
            for _ in range(ACQUISITIONS):
                if limiter.acquire(limits) == 0.0:
                    granted[threading.get_ident()] += 1
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt) for _ in range(PROCESSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sum(granted.values()) == PER_SECOND
    # the wide limit counted exactly the granted calls: refusals counted nothing anywhere
    assert StubRateWindow.objects.get(key="wide/60s").count == PER_SECOND


def test_a_place_frees_its_guard_time_after_its_call_left_the_window(limiter, clock):
    guarded = Limit("guarded", 5, 1, guard_ms=200)
    clock.now = 1_000.5
    assert [limiter.acquire([guarded]) for _ in range(5)] == [0.0] * 5

    clock.now = 1_001.5  # a second later: still within the guard
    assert limiter.acquire([guarded]) == pytest.approx(0.2, abs=0.002)

    clock.now = 1_001.7  # admitted, and the refused call was not counted
    assert [limiter.acquire([guarded]) for _ in range(5)] == [0.0] * 5
    assert limiter.acquire([guarded]) > 0


def test_a_guard_must_fit_inside_the_window():
    with pytest.raises(ValueError, match="guard_ms"):
        Limit("x", 5, 1, guard_ms=1000)
