"""``manage.py feishu_connect``: the long connections (长连接) of every enabled Feishu app whose
"how Feishu reaches the console" is *long connection*, until SIGTERM or Ctrl-C.

One process per deployment is enough (it holds one socket per app, in a thread each); run it
under the same supervisor as the web and the worker (systemd, a container's restart policy,
``dev.py up``). Two running do no harm: Feishu delivers each event to one of an app's connected
clients, not to all, and event ids are deduplicated anyway (README: Feishu / Lark).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand

from integrations.feishu.long_connection.supervisor import Supervisor


class Command(BaseCommand):
    help = "Hold the Feishu long connections of the apps in long-connection mode."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        self.stdout.write("Feishu long connections: apps in long-connection mode (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            Supervisor().run(stop)
        self.stdout.write("Feishu long connections closed.")
