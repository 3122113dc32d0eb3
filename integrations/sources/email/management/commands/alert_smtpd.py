"""``manage.py alert_smtpd``: the SMTP listener for the e-mail sources (README, "E-mail")."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from integrations.sources.email.smtp import serve


class Command(BaseCommand):
    help = (
        "Receive alert e-mail by SMTP for the e-mail sources' addresses "
        "(<mailbox>@ALERT_EMAIL_DOMAIN); runs until stopped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.ALERT_SMTPD_HOST)
        parser.add_argument("--port", type=int, default=settings.ALERT_SMTPD_PORT)

    def handle(self, *args, host: str, port: int, **options) -> None:
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        self.stdout.write(
            f"Alert mail on {host}:{port} for *@{settings.ALERT_EMAIL_DOMAIN} "
            f"(at most {settings.ALERT_EMAIL_MAX_BYTES} bytes a message); Ctrl-C stops it."
        )
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(_until_stopped(host, port))


async def _until_stopped(host: str, port: int) -> None:
    """Serve until SIGTERM (a supervisor, ``dev.py up``) or SIGINT: the listener stops taking
    connections and closes its database connection instead of dying mid-transaction."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for stop in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop, task.cancel)
    await serve(host, port)
