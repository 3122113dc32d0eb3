"""``manage.py dingtalk_sandbox_stream``: the DingTalk sandbox's Stream server
(``stream_server``), on ``DINGTALK_SANDBOX_STREAM_ADDRESS``. ``dev.py up`` starts it with the
sandbox; ``manage.py dingtalk_connect`` connects the console's Stream mode apps to it."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from integrations.dingtalk_sandbox.stream_server import StreamServer


class Command(BaseCommand):
    help = "Run the DingTalk sandbox's Stream mode (WebSocket) server."

    def handle(self, *args: Any, **options: Any) -> None:
        host, _, port = settings.DINGTALK_SANDBOX_STREAM_ADDRESS.rpartition(":")
        self.stdout.write(f"DingTalk sandbox Stream server on ws://{host}:{port}/connect")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(StreamServer(host, int(port)).run())
