"""A clock that tests move by hand, for code that takes a clock (and maybe a sleep) to call."""

from __future__ import annotations

# Late in a clock-aligned second: where fixed windows would let twice the limit through.
T0 = 1_700_000_000.9


class FakeClock:
    """Call it for the time (seconds since the epoch); ``advance`` moves it, and so does
    ``sleep``, which records what it was asked to sleep instead of waiting."""

    def __init__(self, now: float = T0):
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.advance(seconds)
