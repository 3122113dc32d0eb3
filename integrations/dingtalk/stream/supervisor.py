"""``dingtalk_connect``'s main loop: one SDK client per enabled app in Stream mode, in one
asyncio loop, kept in step with the database.

Every ``DINGTALK_CONNECT_REFRESH_SECONDS`` it starts a connection for an app switched to Stream
mode (or added, or enabled), stops that of an app switched away (disabled, deleted) and
restarts one whose credentials or host changed. The SDK reopens a dropped connection by itself,
and asks for a new ticket every 10 s while DingTalk refuses one (wrong secret): the admin's fix
is picked up without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from integrations.dingtalk.models import DingTalkApp, EventMode
from integrations.dingtalk.stream.connection import client_for, fingerprint

logger = logging.getLogger(__name__)

# The SDK's loop takes one cancellation as a network error and carries on: cancel until done.
STOP_ATTEMPTS = 50


@dataclass
class Running:
    fingerprint: str
    task: asyncio.Task


def wanted_apps() -> dict[int, tuple[DingTalkApp, str]]:
    """The apps to hold a connection for. Read in a worker thread whose database connection
    is closed after, as each event's is (``connection._accept_in_django``)."""
    try:
        apps = DingTalkApp.objects.filter(enabled=True, event_mode=EventMode.STREAM)
        return {app.pk: (app, fingerprint(app)) for app in apps}
    finally:
        connections.close_all()


class Supervisor:
    def __init__(self) -> None:
        self.running: dict[int, Running] = {}

    async def tick(self) -> None:
        """Bring the running connections in line with the database."""
        wanted = await sync_to_async(wanted_apps, thread_sensitive=False)()
        for pk in list(self.running):
            if pk not in wanted or wanted[pk][1] != self.running[pk].fingerprint:
                await self._stop(pk)
        for pk, (app, print_) in wanted.items():
            if pk not in self.running or self.running[pk].task.done():
                self._start(app, print_)

    def _start(self, app: DingTalkApp, print_: str) -> None:
        logger.info("DingTalk app %s: opening its Stream connection", app.pk)
        client = client_for(app)
        task = asyncio.create_task(client.start(), name=f"dingtalk-stream-{app.pk}")
        self.running[app.pk] = Running(print_, task)

    async def _stop(self, pk: int) -> None:
        logger.info("DingTalk app %s: closing its Stream connection", pk)
        task = self.running.pop(pk).task
        for _attempt in range(STOP_ATTEMPTS):
            if task.done():
                break
            task.cancel()
            await asyncio.sleep(0.01)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            if task.done():
                task.result()

    async def run(self, stop: asyncio.Event) -> None:
        """Tick until ``stop`` is set, then close every connection."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                except Exception:  # the database away for a moment: keep the connections
                    logger.exception("dingtalk_connect: the supervisor's tick failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), settings.DINGTALK_CONNECT_REFRESH_SECONDS)
        finally:
            for pk in list(self.running):
                await self._stop(pk)
