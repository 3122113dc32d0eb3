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

The window slides, counted by the toolkit's limiter (``integrations.chatkit.ratelimit``, in
Redis or else in ``DingTalkRateWindow`` rows, shared by every process): the 21st message waits
until the first of the 20 before it is a minute old, wherever the clock's minutes turn, so a
burst at the turn of a minute cannot send twice the limit. A refused send takes no place.
DingTalk's own refusal is still a ``RateLimited`` that the task retries.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from integrations.chatkit.ratelimit import Limit, Limiter, wait_for
from integrations.dingtalk import budget
from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkApp


@dataclass(frozen=True)
class Rate:
    messages: int
    seconds: int


GROUP_LIMIT = Rate(20, 60)
PERSON_LIMIT = Rate(20, 60)
# Slept in place at most this long; a longer wait goes back to the queue.
MAX_WAIT_SECONDS = 1.0


@dataclass(frozen=True)
class Receiver:
    """Who a send goes to: ``group:<openConversationId>`` or ``person:<userid>``, and its rate."""

    key: str
    rate: Rate

    def limit(self, app_id: int) -> Limit:
        """The receiver's limit in one app (each app's robot is paced apart)."""
        return Limit(
            f"dingtalk:{app_id}:receiver:{self.key}", self.rate.messages, self.rate.seconds
        )


def group_receiver(open_conversation_id: str) -> Receiver:
    return Receiver(f"group:{open_conversation_id}", GROUP_LIMIT)


def person_receiver(user_id: str) -> Receiver:
    return Receiver(f"person:{user_id}", PERSON_LIMIT)


class ReceiverBusy(errors.RateLimited):
    """The receiver has had its messages for now: send again after ``retry_after`` seconds."""


# The limiter and the sleep the sends use (tests put a limiter on a fake clock here).
LIMITER: Callable[[], Limiter] = budget.limiter
SLEEP: Callable[[float], object] = time.sleep


def pace(
    app: DingTalkApp,
    receiver: Receiver,
    *,
    limiter: Limiter | None = None,
    sleep: Callable[[float], object] | None = None,
    max_wait: float = MAX_WAIT_SECONDS,
) -> None:
    """Take a place for one message to ``receiver`` now, waiting up to ``max_wait`` for one;
    ``ReceiverBusy`` when the wait would be longer (nothing is taken then)."""
    rate = receiver.rate
    wait_for(
        limiter or LIMITER(),
        [receiver.limit(app.pk)],
        sleep=sleep or SLEEP,
        max_wait=max_wait,
        too_long=ReceiverBusy,
        what=f"{receiver.key}'s {rate.messages} messages in {rate.seconds} s",
    )
