"""One app's long connection: the official SDK's client (``lark_oapi.ws.Client``) in a thread of
its own, with the console's heartbeats.

The SDK keeps its whole client on one module-level event loop (``lark_oapi.ws.client.loop``),
so two clients in two threads of one process would share (and fight over) it. ``_ThreadLoop``
replaces that module variable with a stand-in that is, in each thread, that thread's own loop:
each client runs on its thread's loop, unchanged otherwise. The SDK connects (asking
``<domain>/callback/ws/endpoint`` for the socket's URL), pings, reconnects on its own as the
server's client configuration says, and answers each event frame with what
``bridge.ConsoleEventHandler`` returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import lark_oapi as lark
import lark_oapi.ws.client as sdk_ws
from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone

from integrations.feishu.long_connection import heartbeat
from integrations.feishu.long_connection.bridge import ConsoleEventHandler
from integrations.feishu.models import FeishuApp
from oncall.outbound import validate_base_url

logger = logging.getLogger(__name__)


class _ThreadLoop:
    """Stands in for ``lark_oapi.ws.client.loop``: the calling thread's own event loop."""

    _local = threading.local()

    def current(self) -> asyncio.AbstractEventLoop:
        loop = getattr(self._local, "loop", None)
        if loop is None or loop.is_closed():
            loop = asyncio.new_event_loop()
            self._local.loop = loop
        return loop

    def __getattr__(self, name: str) -> object:
        return getattr(self.current(), name)


THREAD_LOOP = _ThreadLoop()
sdk_ws.loop = THREAD_LOOP


def _in_worker(worker: ThreadPoolExecutor, function, *args) -> None:
    """Write a heartbeat from the worker thread: never from the SDK's loop (Django refuses
    database work in a thread with a running event loop)."""

    def run() -> None:
        try:
            function(*args)
        except Exception:
            logger.exception("Feishu long connection: recording the heartbeat failed")
        finally:
            close_old_connections()

    worker.submit(run)


class ConsoleWsClient(lark.ws.Client):
    """The SDK's client, telling the console when it connects and disconnects, and when
    messages arrive: in memory (``last_message_at``, which the supervisor's heartbeat writes),
    and to the database only for the first message after connecting and then at most once a
    heartbeat interval, not once a frame."""

    def __init__(self, app: FeishuApp, worker: ThreadPoolExecutor):
        self._app_pk = app.pk
        self._worker = worker
        self.last_message_at: datetime | None = None
        self._written_at: float | None = None  # monotonic time of the last message written
        handler = ConsoleEventHandler(app.pk, worker, self.message_received)
        super().__init__(
            app.app_id,
            app.app_secret,
            event_handler=handler,
            domain=app.open_api_base,
            log_level=lark.LogLevel.WARNING,
        )

    def message_received(self) -> None:
        self.last_message_at = timezone.now()
        now = time.monotonic()
        interval = settings.FEISHU_CONNECT_HEARTBEAT_SECONDS
        if self._written_at is None or now - self._written_at >= interval:
            self._written_at = now
            _in_worker(self._worker, heartbeat.record_message, self._app_pk, self.last_message_at)

    async def _connect(self) -> None:
        await super()._connect()
        if self._conn is not None:
            self._written_at = None  # the first message on a new socket shows at once
            _in_worker(self._worker, heartbeat.record_connected, self._app_pk)

    async def _disconnect(self) -> None:
        was_connected = self._conn is not None
        await super()._disconnect()
        if was_connected:
            _in_worker(self._worker, heartbeat.record_disconnected, self._app_pk)

    @property
    def connected(self) -> bool:
        return self._conn is not None


class AppConnection:
    """One app's client in a daemon thread; ``stop`` ends it from another thread."""

    def __init__(self, app: FeishuApp):
        self.app_pk = app.pk
        self.fingerprint = fingerprint(app)
        self.error = ""
        self._app = app
        # One thread: the SDK hands over one frame at a time anyway, and the thread's database
        # connection can be closed in it when the connection ends.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"feishu-{app.pk}")
        self._client: ConsoleWsClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"feishu-connect-{app.pk}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    @property
    def last_message_at(self) -> datetime | None:
        return self._client.last_message_at if self._client is not None else None

    def _run(self) -> None:
        self._loop = THREAD_LOOP.current()
        asyncio.set_event_loop(self._loop)
        try:
            # The bootstrap POST goes to the app's (possibly user-set) Open API base: the
            # console's SSRF guard checks it first, as it does every other call.
            validate_base_url(self._app.open_api_base)
            self._client = ConsoleWsClient(self._app, self._worker)
            self._client.start()  # returns only when stopped or refused for good
        except Exception as exc:
            stopped = isinstance(exc, RuntimeError) and "stopped" in str(exc)
            if not stopped:
                self.error = _reason(exc)
                logger.warning("Feishu app %s: long connection failed: %s", self.app_pk, self.error)
        finally:
            self._close()

    def _close(self) -> None:
        loop = self._loop
        if loop is None:
            return
        if self._client is not None:
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.wait_for(self._client._disconnect(), 5))
        for task in asyncio.all_tasks(loop):
            task.cancel()
        with contextlib.suppress(Exception):
            loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        _in_worker(self._worker, heartbeat.record_disconnected, self.app_pk, self.error)
        self._worker.submit(connections.close_all)
        self._worker.shutdown(wait=True)

    def stop(self, timeout: float = 10) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=timeout)


def fingerprint(app: FeishuApp) -> tuple[str, str, str]:
    """What the connection depends on: a change restarts it."""
    return (app.app_id, app.app_secret, app.open_api_base)


def _reason(exc: Exception) -> str:
    """Feishu's words when the SDK has them (its exceptions carry code and msg)."""
    code = getattr(exc, "code", None)
    if isinstance(code, int) and exc.args:
        return f"Feishu refused the connection: {exc.args[0]} (code {code})."[:300]
    if hasattr(exc, "messages"):  # a ValidationError from the outbound guard
        return " ".join(exc.messages)
    return f"{type(exc).__name__}: {exc}"[:300]
