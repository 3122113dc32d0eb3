"""The sandbox's rate limits are sliding windows: a server counts the calls of the last second,
whenever "now" is, so a burst straddling a second's edge is caught.

Redis tests are marked ``postgres`` (the stage where Redis answers), with a key prefix of their
own in db 15, deleted afterwards, as the console limiter's tests do."""

from __future__ import annotations

import uuid

import pytest

from integrations.feishu.client.ratelimit import Limit
from integrations.feishu_sandbox.sliding_window import DatabaseSlidingWindow, RedisSlidingWindow

REDIS_URL = "redis://127.0.0.1:6379/15"
T0 = 1_700_000_000.9  # late in a clock-aligned second: where fixed windows let 2x through


class FakeClock:
    def __init__(self):
        self.now = T0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.postgres)])
def window(request, clock, db):
    if request.param == "database":
        yield DatabaseSlidingWindow(clock=clock)
        return
    import redis

    prefix = f"test:sandbox-window:{uuid.uuid4().hex}:"
    yield RedisSlidingWindow(REDIS_URL, prefix=prefix, clock=clock)
    connection = redis.Redis.from_url(REDIS_URL)
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


def test_a_burst_is_admitted_whole_or_not_at_all(window, clock):
    assert window.acquire([PER_SECOND], count=30) == 0
    clock.advance(0.4)

    refused = window.acquire([PER_SECOND], count=21)
    admitted = window.acquire([PER_SECOND], count=20)

    assert refused == pytest.approx(0.6, abs=0.002)  # until the first 30 leave
    assert admitted == 0
    assert window.acquire([PER_SECOND]) > 0
