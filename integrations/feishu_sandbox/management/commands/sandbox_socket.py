"""``manage.py sandbox_socket``: the sandbox's long-connection server (``socket_server``), on
``FEISHU_SANDBOX_SOCKET_ADDRESS``. ``dev.py up`` starts it with the sandbox.

With ``FEISHU_SANDBOX_ENABLED`` off there is no sandbox and it says so and ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the Feishu sandbox's long-connection (WebSocket) server."

    def handle(self, *args: Any, **options: Any) -> None:
        if not apps.is_installed("integrations.feishu_sandbox"):
            self.stdout.write("The Feishu sandbox is not enabled (FEISHU_SANDBOX_ENABLED).")
            return
        from integrations.feishu_sandbox.socket_server import SocketServer

        host, _, port = settings.FEISHU_SANDBOX_SOCKET_ADDRESS.rpartition(":")
        self.stdout.write(f"Feishu sandbox long connections on ws://{host}:{port}/ws/v2")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(SocketServer(host, int(port)).run())
