"""Secrets out of every log line.

Push URLs carry a source's secret token, calendar feed URLs theirs, PagerDuty events their
routing key, API calls an ``Authorization`` header, Feishu callbacks a verification token, OAuth
callbacks a one-time code and state; and Django, runserver and gunicorn log request paths
(``Bad Request: /push/<token>``, access lines). Rather than trusting each handler to carry a
filter (caplog's, Celery's and gunicorn's do not carry ours), the redaction happens where a
record is made: :func:`install` wraps logging's record factory, so whatever handler writes a
record writes it redacted. Django installs it through ``LOGGING_CONFIG`` (:func:`configure`),
gunicorn's processes through ``oncall.gunicorn_logging``.
"""

from __future__ import annotations

import logging
import logging.config
import re
from typing import Any

REDACTED = "<redacted>"

# /push/<token>, but not /push/<kind>/... (a source kind's own URLs, such as PagerDuty's
# /push/pagerduty/v2/enqueue, whose secret is in the body). Kinds are lower-case words; a
# token is 32 URL-safe characters of mixed case. Everything up to the next separator goes,
# percent-escapes included.
PUSH_TOKEN = re.compile(r"/push/(?![a-z]+/)[^/?#\s\"'<>]+")
# /push/<kind>/<token>: a kind's own URL that carries the token in its path (the e-mail relay
# door, /push/email/<token>). Only a segment as long as a token (20+ URL-safe characters), so
# that /push/pagerduty/v2/enqueue stays readable.
KIND_PUSH_TOKEN = re.compile(r"(/push/[a-z][a-z0-9_]*/)[A-Za-z0-9_\-]{20,}")
# /calendars/<token>.ics: a schedule's or a person's calendar feed, whose token is the key.
CALENDAR_TOKEN = re.compile(r"/calendars/[^/?#\s\"'<>]+")
# code=... and state=... in any query string, or a query string on its own (gunicorn's %(q)s):
# the OAuth callback's; useless once used, but nobody needs to read them in a log either.
OAUTH_PARAMS = re.compile(r"((?:^|[?&\s])(?:code|state)=)[^&\s\"']+")
# Secrets by name, in JSON (``"routing_key": "..."``), Python reprs (``'app_secret': '...'``)
# and query strings or forms (``token=...``).
SECRET_FIELDS = re.compile(
    r"(?<![A-Za-z0-9_])"
    r"((?:routing_key|integration_key|app_secret|client_secret|encrypt_key|verification_token|token"
    r"|access_token|refresh_token|tenant_access_token|app_access_token|user_access_token"
    r"|password|secret)"
    r"[\"']?\s*[:=]\s*[\"']?)"
    r"[^\"'&\s,}]+"
)
# Authorization header values: ``Token oc_...``, ``Bearer t-...``, ``Basic ...``. Only what
# looks like a credential (16+ characters), so that prose such as "Token revoked" stays.
AUTHORIZATION = re.compile(r"\b(Token|Bearer|Basic)(\s+)[A-Za-z0-9._~+/=\-]{16,}")
# The console's API keys anywhere (their prefix is there for this, see oncall.models.tokens).
API_KEY = re.compile(r"\boc_[A-Za-z0-9_\-]{16,}")


def redact(text: str) -> str:
    """``text`` with every secret this module knows how to spot replaced."""
    text = PUSH_TOKEN.sub("/push/<token>", text)
    text = KIND_PUSH_TOKEN.sub(r"\1<token>", text)
    text = CALENDAR_TOKEN.sub("/calendars/<token>", text)
    text = OAUTH_PARAMS.sub(rf"\1{REDACTED}", text)
    text = SECRET_FIELDS.sub(rf"\1{REDACTED}", text)
    text = AUTHORIZATION.sub(rf"\1\2{REDACTED}", text)
    return API_KEY.sub(REDACTED, text)


def redact_record(record: logging.LogRecord) -> None:
    """Redact a record's message and its traceback in place (the traceback is formatted now,
    into ``exc_text``, which every ``logging.Formatter`` prints instead of formatting again)."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string is for the handler to report, as usual
        return
    redacted = redact(message)
    if redacted != message:
        record.msg, record.args = redacted, ()
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))


class RedactPushTokens(logging.Filter):
    """The same redaction as a filter, for a handler or logger that wants it explicitly."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def install() -> None:
    """Make every record of this process redacted at birth (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "redacts", False):
        return

    def redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        redact_record(record)
        return record

    redacting_factory.redacts = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(redacting_factory)


def configure(config: dict) -> None:
    """Django's ``LOGGING_CONFIG``: redaction first, then the ``LOGGING`` dictionary."""
    install()
    logging.config.dictConfig(config)
