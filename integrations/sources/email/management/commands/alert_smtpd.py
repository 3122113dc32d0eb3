"""``manage.py alert_smtpd``: the SMTP listener for the e-mail sources (README, "E-mail")."""

from __future__ import annotations

import asyncio
import contextlib
import logging

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
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(host, port))
