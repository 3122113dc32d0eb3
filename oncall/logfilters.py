"""Logging filters. Push URLs carry a source's secret token, OAuth callbacks a one-time code
and state, and Django logs request paths (``Bad Request: /push/<token>``, runserver's access
lines), so every record is redacted."""

from __future__ import annotations

import logging
import re

PUSH_TOKEN = re.compile(r"/push/(?!pagerduty/)[A-Za-z0-9_\-]+")
# code=... and state=... in any query string (the OAuth callback's; useless once used, but
# nobody needs to read them in a log either).
OAUTH_PARAMS = re.compile(r"([?&](?:code|state)=)[^&\s\"']+")


class RedactPushTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = OAUTH_PARAMS.sub(r"\1<redacted>", PUSH_TOKEN.sub("/push/<token>", message))
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
