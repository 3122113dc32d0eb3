"""``manage.py dingtalk_connect``: the Stream mode connections of every enabled DingTalk app
whose event push method is *Stream mode*, until SIGTERM or Ctrl-C.

One process per deployment is enough (one connection per app, all in one asyncio loop); run it
under the same supervisor as the web and the worker (systemd, a container's restart policy,
``dev.py up``). Two running do no harm: DingTalk delivers each event to one of an app's
connections, and event ids are remembered anyway (README: DingTalk, Stream mode).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

from django.core.management.base import BaseCommand

from integrations.dingtalk.stream.supervisor import Supervisor


class Command(BaseCommand):
    help = "Hold the DingTalk Stream mode connections of the apps in Stream mode."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("DingTalk Stream mode: apps whose push method is Stream (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._run())
        self.stdout.write("DingTalk Stream connections closed.")

    async def _run(self) -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await Supervisor().run(stop)
