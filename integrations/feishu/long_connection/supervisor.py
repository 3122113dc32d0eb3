"""``feishu_connect``'s main loop: one ``AppConnection`` per enabled app in long-connection
mode, kept in step with the database.

Every ``FEISHU_CONNECT_HEARTBEAT_SECONDS`` it starts connections for apps switched to long
connection (or added, or enabled), stops those of apps switched away (disabled, deleted),
restarts a connection whose App ID, App Secret or host changed, restarts a thread that ended
(Feishu refused it: wrong secret, too many connections) after a back-off, and records a
heartbeat for every open socket, with the last message each received (kept in memory by the
client between heartbeats). The SDK reconnects a dropped socket by itself.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections

from integrations.feishu.long_connection import heartbeat
from integrations.feishu.long_connection.client import AppConnection, fingerprint
from integrations.feishu.models import FeishuApp, InboundMode

logger = logging.getLogger(__name__)

# After a connection thread ended (Feishu refused the credentials), wait this long before the
# next try: the admin has to change something first.
RESTART_BACKOFF_SECONDS = 60


class Supervisor:
    def __init__(self) -> None:
        self.connections: dict[int, AppConnection] = {}
        self._ended_at: dict[int, float] = {}

    def wanted(self) -> dict[int, FeishuApp]:
        apps = FeishuApp.objects.filter(enabled=True, inbound_mode=InboundMode.LONG_CONNECTION)
        return {app.pk: app for app in apps}

    def tick(self) -> None:
        """Bring the running connections in line with the database; record heartbeats."""
        try:
            wanted = self.wanted()
            for pk in list(self.connections):
                app = wanted.get(pk)
                if app is None or fingerprint(app) != self.connections[pk].fingerprint:
                    self._stop(pk)
            for app in wanted.values():
                self._ensure(app)
            open_now = {pk: c.last_message_at for pk, c in self.connections.items() if c.connected}
            if open_now:
                heartbeat.record_alive(open_now)
        finally:
            close_old_connections()

    def _ensure(self, app: FeishuApp) -> None:
        running = self.connections.get(app.pk)
        if running is not None and running.alive:
            return
        if running is not None:  # ended by itself: try again after the back-off
            ended = self._ended_at.setdefault(app.pk, time.monotonic())
            if time.monotonic() - ended < RESTART_BACKOFF_SECONDS:
                return
        self._ended_at.pop(app.pk, None)
        logger.info("Feishu app %s: opening its long connection", app.pk)
        connection = AppConnection(app)
        self.connections[app.pk] = connection
        connection.start()

    def _stop(self, pk: int) -> None:
        logger.info("Feishu app %s: closing its long connection", pk)
        self.connections.pop(pk).stop()
        self._ended_at.pop(pk, None)

    def shutdown(self) -> None:
        for pk in list(self.connections):
            self._stop(pk)

    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop`` is set, then close every connection."""
        try:
            while True:
                try:
                    self.tick()
                except Exception:  # the database away for a moment: keep the sockets
                    logger.exception("feishu_connect: the supervisor's tick failed")
                if stop.wait(settings.FEISHU_CONNECT_HEARTBEAT_SECONDS):
                    break
        finally:
            self.shutdown()
