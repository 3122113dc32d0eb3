"""Endpoint configuration shared by the admin and the API: custom headers, and enabling again.
The signing secret is the model's (``oncall.models.signed_receivers``)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from oncall.models import WebhookEndpoint

# RFC 9110's token: what a header name may hold.
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
RESERVED = frozenset(
    {"content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection"}
)
MAX_HEADERS = 20
MAX_VALUE_CHARS = 4000


def clean_headers(value: object) -> dict[str, str]:
    """Custom headers as ``{"name": "value"}``; raises ``ValidationError`` naming the fault.
    The console's own headers (the signature, the content type) cannot be replaced."""
    if not isinstance(value, dict):
        raise ValidationError(_('Enter the headers as an object, e.g. {"X-Team": "payments"}.'))
    if len(value) > MAX_HEADERS:
        raise ValidationError(_("At most %(count)d headers.") % {"count": MAX_HEADERS})
    cleaned: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not HEADER_NAME.match(name):
            raise ValidationError(_("“%(name)s” is not a header name.") % {"name": name})
        lowered = name.lower()
        if lowered in RESERVED or lowered.startswith("webhook-"):
            raise ValidationError(_("The console sets %(name)s itself.") % {"name": name})
        if not isinstance(text, str) or len(text) > MAX_VALUE_CHARS or _has_control(text):
            raise ValidationError(
                _("The value of %(name)s must be one line of text.") % {"name": name}
            )
        cleaned[name] = text
    return cleaned


def _has_control(text: str) -> bool:
    return any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in text)


def parse_header_lines(text: str) -> dict[str, str]:
    """``Name: value`` lines (the admin's form) as a dict, cleaned."""
    headers: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValidationError(_("Write each header as “Name: value”."))
        headers[name.strip()] = value.strip()
    return clean_headers(headers)


def enable(endpoint: WebhookEndpoint) -> None:
    """Enabled again by an admin: the failing streak and its notice are cleared."""
    endpoint.failing_since = None
    endpoint.disabled_reason = ""
