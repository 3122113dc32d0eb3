"""The fault drill's sender: a steady stream of unique alerts, retried as Alertmanager retries.

Each push carries one firing alert with a fingerprint of its own, due at ``start + i / rate``.
Threads take pushes in order of their due time; a push refused in a way Alertmanager retries
(HTTP 5xx or 429, a refused connection, a timeout) goes back in the queue, due after an
exponential backoff (Alertmanager's notifier: 0.5 s, x1.5 each time; capped lower here so that
the drill stays short), until it is answered 2xx or ``give_up_seconds`` have passed since it was
first sent. Any other 4xx is final: the sender would not send it again.
"""

from __future__ import annotations

import http.client
import itertools
import queue
import threading
import time
from dataclasses import dataclass, field

from tests.benchmarks import common

CLIENT_TIMEOUT_SECONDS = 10  # Alertmanager's webhook timeout is of this order
FIRST_BACKOFF_SECONDS = 0.5
BACKOFF_FACTOR = 1.5
MAX_BACKOFF_SECONDS = 8.0


@dataclass
class Push:
    """One alert's push and what became of it (times are Unix seconds)."""

    fingerprint: str
    path: str
    phase: int
    due: float  # time.monotonic() at which it is first sent
    first_sent: float = 0.0
    attempts: int = 0
    refusals: list[str] = field(default_factory=list)  # why each refused attempt failed
    status: int | None = None  # the final answer's HTTP status (None: never answered)
    accepted_at: float | None = None  # when it was answered 2xx

    @property
    def accepted(self) -> bool:
        return self.accepted_at is not None

    @property
    def retried(self) -> bool:
        return bool(self.refusals)


def retryable(status: int) -> bool:
    """Alertmanager's webhook notifier retries 5xx and 429, and gives up on other 4xx."""
    return status >= 500 or status == 429


@dataclass
class Sender:
    """Sends ``pushes`` to ``port`` from ``clients`` threads (``start`` / ``join``)."""

    port: int
    pushes: list[Push]
    clients: int
    give_up_seconds: float
    # Unix times of refused attempts, of any push: when pushes were refused, for recovery.
    refused_at: list[float] = field(default_factory=list)
    _queue: queue.PriorityQueue = field(default_factory=queue.PriorityQueue)
    _order: itertools.count = field(default_factory=itertools.count)
    _open: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self._open = len(self.pushes)
        for push in self.pushes:
            self._queue.put((push.due, next(self._order), push))
        for _ in range(self.clients):
            # Daemons: a Ctrl-C stops the servers at once instead of waiting for the pushes.
            thread = threading.Thread(target=self._run, daemon=True)
            thread.start()
            self._threads.append(thread)

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    @property
    def open(self) -> int:
        """Pushes neither answered 2xx nor given up yet."""
        return self._open

    def _run(self) -> None:
        conn = self._connect()
        while self._open > 0:
            try:
                due, _, push = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            time.sleep(max(0.0, due - time.monotonic()))
            conn = self._send(conn, push)
        conn.close()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection(common.HOST, self.port, timeout=CLIENT_TIMEOUT_SECONDS)

    def _send(self, conn: http.client.HTTPConnection, push: Push) -> http.client.HTTPConnection:
        now = time.time()
        push.first_sent = push.first_sent or now
        push.attempts += 1
        try:
            conn.request(
                "POST",
                push.path,
                body=common.firing_alert_body(push.fingerprint, "FaultDrill"),
                headers={"Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            push.status = response.status
            reason = str(response.status)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            conn = self._connect()
            push.status, reason = None, type(exc).__name__
        if push.status is not None and 200 <= push.status < 300:
            push.accepted_at = time.time()
            self._close_one()
        elif push.status is None or retryable(push.status):
            self._refused(push, reason)
        else:
            push.refusals.append(reason)
            self._close_one()  # a 4xx: the sender does not send it again
        return conn

    def _refused(self, push: Push, reason: str) -> None:
        at = time.time()
        push.refusals.append(reason)
        with self._lock:
            self.refused_at.append(at)
        if at - push.first_sent > self.give_up_seconds:
            self._close_one()
            return
        backoff = min(
            FIRST_BACKOFF_SECONDS * BACKOFF_FACTOR ** (len(push.refusals) - 1),
            MAX_BACKOFF_SECONDS,
        )
        self._queue.put((time.monotonic() + backoff, next(self._order), push))

    def _close_one(self) -> None:
        with self._lock:
            self._open -= 1
