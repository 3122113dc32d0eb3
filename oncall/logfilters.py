"""Logging filters. Push URLs carry a source's secret token, and Django logs request paths
(``Bad Request: /push/<token>``, runserver's access lines), so every record is redacted."""

from __future__ import annotations

import logging
import re

PUSH_TOKEN = re.compile(r"/push/(?!pagerduty/)[A-Za-z0-9_\-]+")


class RedactPushTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = PUSH_TOKEN.sub("/push/<token>", message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
