"""The sandbox's rate limits are sliding windows: a server counts the calls of the last second,
whenever "now" is, so a burst straddling a second's edge is caught.

Redis tests are marked ``postgres`` (the stage where Redis answers), with a key prefix of their
own in the test run's Redis database, deleted afterwards."""

from __future__ import annotations

import uuid

import pytest

from integrations.chatkit.ratelimit import Limit
from integrations.feishu_sandbox.models import RateHit, RateKey
from integrations.feishu_sandbox.sliding_window import DatabaseSlidingWindow, RedisSlidingWindow
from tests.clocks import FakeClock


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.postgres)])
def window(request, clock, db, settings):
    if request.param == "database":
        yield DatabaseSlidingWindow(clock=clock)
        return
    import redis

    assert settings.REDIS_URL, "run with Redis (the PostgreSQL stage)"
    prefix = f"test:sandbox-window:{uuid.uuid4().hex}:"
    yield RedisSlidingWindow(settings.REDIS_URL, prefix=prefix, clock=clock)
    connection = redis.Redis.from_url(settings.REDIS_URL)
    for key in connection.scan_iter(f"{prefix}*"):
        connection.delete(key)


PER_SECOND = Limit("sandbox:app:cli_x:im.v1.chat.list", 50, 1)


def test_it_refuses_the_51st_call_across_a_seconds_edge(window, clock):
    for _ in range(50):
        assert window.acquire([PER_SECOND]) == 0

    clock.advance(0.2)  # into the next clock-aligned second: a fixed window would start over

    assert window.acquire([PER_SECOND]) == pytest.approx(0.8, abs=0.002)


def test_it_admits_again_once_the_oldest_call_leaves_the_window(window, clock):
    for _ in range(50):
        window.acquire([PER_SECOND])

    clock.advance(1.001)

    assert window.acquire([PER_SECOND]) == 0


def test_the_window_slides_one_call_at_a_time(window, clock):
    for _ in range(25):
        window.acquire([PER_SECOND])
    clock.advance(0.5)
    for _ in range(25):
        window.acquire([PER_SECOND])
    clock.advance(0.6)  # the first 25 have left; the last 25 have not

    admitted = sum(window.acquire([PER_SECOND]) == 0 for _ in range(30))

    assert admitted == 25


def test_a_refused_call_counts_against_no_limit(window, clock):
    per_minute = Limit("sandbox:app:cli_x:im.v1.chat.list", 1000, 60)
    other = Limit("sandbox:app:cli_x:im.v1.message.create", 5, 1)
    for _ in range(5):
        window.acquire([other])

    assert window.acquire([per_minute, other]) > 0
    for _ in range(50):
        assert window.acquire([per_minute]) == 0
    clock.advance(1.5)
    assert window.acquire([per_minute]) == 0  # 51 in the minute: the refused one did not count


def test_a_per_minute_limit_slides_too(window, clock):
    per_minute = Limit("sandbox:app:cli_x:im.v1.chat.list", 100, 60)
    for _ in range(100):
        window.acquire([per_minute])

    clock.advance(30)

    assert window.acquire([per_minute]) == pytest.approx(30, abs=0.01)


def test_a_refused_call_is_told_when_the_oldest_call_leaves(window, clock):
    window.acquire([PER_SECOND])
    clock.advance(0.3)
    for _ in range(49):
        window.acquire([PER_SECOND])
    clock.advance(0.4)

    assert window.acquire([PER_SECOND]) == pytest.approx(0.3, abs=0.002)
    clock.advance(0.3)
    assert window.acquire([PER_SECOND]) == 0


def test_old_hits_and_keys_left_without_hits_are_purged(clock, db):
    window = DatabaseSlidingWindow(clock=clock)
    per_message = [Limit(f"sandbox:message:om_{i}", 5, 1) for i in range(3)]
    for limit in per_message:
        window.acquire([limit])
    window.acquire([PER_SECOND])
    clock.advance(61)  # a minute later, every hit has left every window

    window.acquire([Limit("sandbox:message:om_new", 5, 1)])  # a new key: time to purge

    assert list(RateKey.objects.values_list("key", flat=True)) == ["sandbox:message:om_new/1s"]
    assert list(RateHit.objects.values_list("key", flat=True)) == ["sandbox:message:om_new/1s"]


def test_a_key_that_keeps_counting_keeps_only_its_window(clock, db):
    window = DatabaseSlidingWindow(clock=clock)
    for _ in range(10):
        window.acquire([PER_SECOND])
        clock.advance(0.5)

    assert RateHit.objects.count() == 2  # the hits of the last second


def test_it_refuses_windows_longer_than_it_purges(window):
    with pytest.raises(ValueError, match="up to a minute"):
        window.acquire([Limit("sandbox:app:cli_x:hourly", 10, 3600)])
