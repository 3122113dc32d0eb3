"""Per-receiver pacing of DingTalk sends: a person's one-to-one cards and a group's cards each
keep within a number of messages a minute, besides the app's budget (``budget``: calls a month
and a second for the whole app).

The limits:

* **A group**: DingTalk documents that a group robot sends at most 20 messages a minute, and
  is throttled for 10 minutes past that ("每个机器人每分钟最多发送20条。如果超过20条,会限流10分钟",
  https://open.dingtalk.com/document/robots/custom-robot-access, the custom robot's page; it
  gives no other figure for an app robot's cards in a group, so the same is used). Being
  throttled for 10 minutes in the middle of an incident is what this pacing avoids.
* **A person**: DingTalk publishes no per-person figure for the robot's one-to-one messages;
  the same 20 a minute is used, a conservative value (an escalation sends a person one card per
  level, so only a storm of incidents comes near it).

Past its limit, a send **waits**: a wait within ``max_wait`` is slept in place; a longer one
raises ``ReceiverBusy`` (a ``RateLimited``, with ``retry_after``), and the card task sends again
after it (``delivery.Paced``), so nothing is dropped. Card updates are not messages and are not
paced here (DingTalk limits them per app only).

The window is a sliding one, estimated from two fixed windows in the shared cache (this minute's
count and the last one's, weighted by how much of it still overlaps the last 60 s), so that a
burst at the turn of a minute cannot send twice the limit. The cache is a limiter, not a record:
flushed, it lets a minute through unpaced, and DingTalk's own refusal is still a ``RateLimited``
that the task retries.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.core.cache import cache

from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkApp


@dataclass(frozen=True)
class Limit:
    messages: int
    seconds: int


GROUP_LIMIT = Limit(20, 60)
PERSON_LIMIT = Limit(20, 60)
# Slept in place at most this long; a longer wait goes back to the queue.
MAX_WAIT_SECONDS = 1.0
# The shortest wait (the estimate may say "now" a hair too early).
MIN_WAIT_SECONDS = 0.05


@dataclass(frozen=True)
class Receiver:
    """Who a send goes to, as the limit's key: ``group:<openConversationId>`` or
    ``person:<userid>``."""

    key: str
    limit: Limit


def group_receiver(open_conversation_id: str) -> Receiver:
    return Receiver(f"group:{open_conversation_id}", GROUP_LIMIT)


def person_receiver(user_id: str) -> Receiver:
    return Receiver(f"person:{user_id}", PERSON_LIMIT)


class ReceiverBusy(errors.RateLimited):
    """The receiver has had its messages for now: send again after ``retry_after`` seconds."""


# The clock and the sleep the sends use (tests put a fake clock here).
CLOCK: Callable[[], float] = time.time
SLEEP: Callable[[float], object] = time.sleep


def pace(
    app: DingTalkApp,
    receiver: Receiver,
    *,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] | None = None,
    max_wait: float = MAX_WAIT_SECONDS,
) -> None:
    """Take a place for one message to ``receiver`` now, waiting up to ``max_wait`` for one;
    ``ReceiverBusy`` when the wait would be longer (nothing is taken then)."""
    sleep, clock = sleep or SLEEP, clock or CLOCK
    waited = 0.0
    while True:
        wait = _take(app.pk, receiver, clock())
        if wait <= 0:
            return
        if waited + wait > max_wait:
            limit = receiver.limit
            raise ReceiverBusy(
                f"{receiver.key} has had its {limit.messages} messages in {limit.seconds} s",
                retry_after=wait,
            )
        sleep(wait)
        waited += wait


def _key(app_id: int, receiver: Receiver, window: int) -> str:
    return f"dingtalk:receiver:{app_id}:{receiver.key}:{window}"


def _take(app_id: int, receiver: Receiver, now: float) -> float:
    """0 when a place was taken, else how long to wait before asking again."""
    limit = receiver.limit
    window = math.floor(now / limit.seconds)
    key = _key(app_id, receiver, window)
    cache.add(key, 0, timeout=2 * limit.seconds + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: ask again
        return MIN_WAIT_SECONDS
    previous = cache.get(_key(app_id, receiver, window - 1)) or 0
    into = (now - window * limit.seconds) / limit.seconds  # how far into this window, 0..1
    if previous * (1 - into) + count <= limit.messages:
        return 0.0
    cache.decr(key)  # refused: the place is not kept
    return max(_wait(limit, previous, count - 1, into), MIN_WAIT_SECONDS)


def _wait(limit: Limit, previous: int, current: int, into: float) -> float:
    """Seconds until ``previous * (1 - x) + current + 1 <= messages``, ``x`` the share of the
    window gone by then; to the next window when this one alone is full."""
    room = limit.messages - current - 1
    if room < 0 or previous <= 0:
        return (1 - into) * limit.seconds
    needed = 1 - room / previous
    return max(needed - into, 0.0) * limit.seconds
