"""A 2,000-card fan-out on a stopped clock: the console's limiter against the sandbox's.

The sandbox counts Feishu's limits as a server does, over sliding windows: at most 50 sends in
any second and 1000 in any minute, whatever second of the minute the run starts at. The fastest
schedule those limits allow sends 50 a second for 20 s, waits for the first sends to be a minute
old, and sends the second thousand in the next 20 s: 79 s from the first send to the last,
from any start second (``tests.benchmarks.delivery.minimum_send_seconds``).

Each card is a send of ``send_many``'s: the console's own limiter first (a "not now" puts the
card back until the time it names), then the sandbox, whose refusal (99991400 / 230020) is read
by the client's error mapping and retried after the seconds it asks for. No HTTP, no Celery:
the limiters, the limits the client asks for and the sandbox's answers are the real ones, on
Redis (as in production and in the delivery benchmark; the database backends' windows are the
same algorithms, checked in ``tests/chatkit/test_ratelimit.py``): marked ``postgres`` like the
Redis limiter tests, it runs in the PostgreSQL + Redis stage, in a few seconds.
"""

from __future__ import annotations

import heapq
import uuid

import pytest

from integrations.chatkit.ratelimit import Limit, RedisLimiter
from integrations.feishu.client import errors
from integrations.feishu.client.open_api import app_limits, send_limits
from integrations.feishu_sandbox import sliding_window
from integrations.feishu_sandbox.api import ApiError, enforce_app_limit
from integrations.feishu_sandbox.limits import PER_RECEIVER_PER_SECOND
from tests.benchmarks.delivery import minimum_send_seconds
from tests.clocks import FakeClock
from tests.xdist_databases import own_redis_url

CARDS = 2000
RECEIVERS = 10  # ten people at 5/s each allow the app's 50/s: the receivers add no wait
REDIS_URL = own_redis_url()  # the database of this xdist process
MINUTE = 1_700_000_040  # a Unix time at the start of a minute (divisible by 60)


def sandbox_send(app: str, receiver: str) -> None:
    """What the sandbox checks before it accepts a card: the app's limits for the API, then the
    receiver's 5/s (``api_messages.throttle_receiver``'s key, without a conversation row)."""
    enforce_app_limit(app, "im.v1.message.create")
    limiter = sliding_window.sandbox_limiter()
    if limiter.acquire([Limit(f"sandbox:receiver:{receiver}", PER_RECEIVER_PER_SECOND, 1)]):
        raise ApiError(230020, "This operation triggers the frequency limit.")


def fan_out(start: float, redis_url: str, monkeypatch) -> tuple[float, int]:
    """Seconds from ``start`` until the sandbox accepted the last card, and how many sends it
    refused on the way (keys of an app and receivers of its own: nothing counted before)."""
    app = f"cli_{uuid.uuid4().hex}"
    clock = FakeClock(start)
    monkeypatch.setattr(sliding_window, "CLOCK", clock)
    console = RedisLimiter(redis_url, prefix=f"test:fanout:{app}:", clock=clock)
    due = [(start, n) for n in range(CARDS)]  # (when the card may be tried, its number)
    heapq.heapify(due)
    refused = 0
    last = start
    while due:
        at, n = heapq.heappop(due)
        clock.now = max(clock.now, at)
        receiver = f"ou_{app}_{n % RECEIVERS}"
        wait = console.acquire([*send_limits(app, "open_id", receiver), *app_limits(app)])
        if wait == 0:
            try:
                sandbox_send(app, receiver)
            except ApiError as answer:
                refused += 1
                error = errors.from_response(answer.status, answer.body(), answer.headers)
                assert isinstance(error, errors.RateLimited)
                wait = error.retry_after
            else:
                last = clock.now
                continue
        heapq.heappush(due, (clock.now + wait, n))
    return last - start, refused


@pytest.fixture
def redis_url(settings):
    """Redis db 15 (the limiter tests'), every key this test made deleted afterwards."""
    import redis

    settings.REDIS_URL = REDIS_URL  # the sandbox's limiter: Redis, on the stopped clock
    yield REDIS_URL
    connection = redis.Redis.from_url(REDIS_URL)
    for pattern in ("test:fanout:cli_*", "oncall:sandbox:window:*cli_*"):
        for key in connection.scan_iter(pattern):
            connection.delete(key)


def test_the_limit_bound_minimum_is_the_same_from_any_start_second():
    assert {minimum_send_seconds(CARDS, MINUTE + second) for second in range(60)} == {79}


@pytest.mark.postgres
@pytest.mark.parametrize("second", [2, 31])
def test_it_fans_2000_cards_out_within_10_percent_of_the_minimum(second, redis_url, monkeypatch):
    start = MINUTE + second + 0.37  # the first push lands inside a second, not on its edge

    took, refused = fan_out(start, redis_url, monkeypatch)

    minimum = minimum_send_seconds(CARDS, start)
    outcome = f"{took:.2f} s for a minimum of {minimum:.2f} s, {refused} sends refused"
    print(f"\nstart :{second:02d}: {outcome}, ratio {took / minimum:.3f}")
    assert refused == 0, outcome  # the console never sent what the sandbox would refuse
    assert took / minimum <= 1.10, outcome
