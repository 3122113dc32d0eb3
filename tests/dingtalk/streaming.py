"""Stream mode in tests: the sandbox's Stream endpoint served from a thread, and the console's
connection (the official SDK) run in a loop of its own thread while a test needs it."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

from integrations.dingtalk.models import DingTalkApp, EventMode
from integrations.dingtalk_sandbox import stream_server
from integrations.dingtalk_sandbox.models import SandboxApp


@contextlib.contextmanager
def serving_stream(settings) -> Iterator[Any]:
    """The sandbox's Stream endpoint, in a thread, where the console's client looks for it."""
    server = stream_server.start_in_thread()
    settings.DINGTALK_SANDBOX_STREAM_ADDRESS = server.address
    try:
        yield server
    finally:
        server.stop()


def stream_mode(world) -> None:
    """The world's app (console and sandbox) pushes by Stream mode, not by HTTP."""
    SandboxApp.objects.filter(pk=world.sandbox_app.pk).update(stream_mode=True)
    DingTalkApp.objects.filter(pk=world.app.pk).update(event_mode=EventMode.STREAM)


class InThread:
    """A coroutine run in a loop of its own thread, stopped by cancelling until it ends (the
    SDK's loop takes one cancellation for a network error and carries on)."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, Any]]):
        self.loop = asyncio.new_event_loop()
        self.task = self.loop.create_task(make())
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        with contextlib.suppress(BaseException):
            self.loop.run_until_complete(self.task)
        # What the SDK left running (its keepalive): ended before the loop closes.
        left = asyncio.all_tasks(self.loop)
        for task in left:
            task.cancel()
        self.loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
        self.loop.close()

    def stop(self) -> None:
        for _attempt in range(100):
            if not self.thread.is_alive():
                return
            self.loop.call_soon_threadsafe(self.task.cancel)
            self.thread.join(timeout=0.1)


@contextlib.contextmanager
def running(make: Callable[[], Coroutine[Any, Any, Any]]):
    held = InThread(make)
    try:
        yield held
    finally:
        held.stop()
