"""The custom headers a user gives a receiver (webhook endpoints, custom actions): one rule set,
checked by the models' ``clean``, the admin's forms and the API's serializers alike, and applied
again when a request is made.

A header name is an RFC 9110 token (https://www.rfc-editor.org/rfc/rfc9110#section-5.1); a
value is one line of text (no control character but a tab: no header injection). The headers
the console sets itself cannot be given: the content type and length, the host, the user agent,
the connection's, and the Standard Webhooks ones (``webhook-*``: the signature must be the
console's)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")
FORBIDDEN = frozenset(
    {"content-type", "content-length", "host", "user-agent", "transfer-encoding", "connection"}
)
FORBIDDEN_PREFIX = "webhook-"
MAX_HEADERS = 20
MAX_VALUE_CHARS = 4000


def is_forbidden(name: str) -> bool:
    """Whether the console sets this header itself."""
    lowered = name.lower()
    return lowered in FORBIDDEN or lowered.startswith(FORBIDDEN_PREFIX)


def check(value: object) -> dict[str, str]:
    """``value`` as headers, ``{"name": "value"}``; ``ValidationError`` naming the fault."""
    if not isinstance(value, dict) or not all(
        isinstance(name, str) and isinstance(text, str) for name, text in value.items()
    ):
        raise ValidationError(
            _('Enter headers as an object of name → value, e.g. {"Authorization": "Bearer …"}.')
        )
    if len(value) > MAX_HEADERS:
        raise ValidationError(_("At most %(count)s headers.") % {"count": MAX_HEADERS})
    for name, text in value.items():
        if not NAME.match(name):
            raise ValidationError(_("“%(name)s” is not a header name.") % {"name": name})
        if is_forbidden(name):
            raise ValidationError(_("The console sets %(name)s itself.") % {"name": name})
        if len(text) > MAX_VALUE_CHARS or _has_control(text):
            raise ValidationError(
                _("The value of %(name)s must be one line (at most %(limit)s characters).")
                % {"name": name, "limit": MAX_VALUE_CHARS}
            )
    return dict(value)


def _has_control(text: str) -> bool:
    return any((ord(char) < 32 and char != "\t") or ord(char) == 127 for char in text)


def parse_lines(text: str) -> dict[str, str]:
    """``Name: value`` lines (the admin's forms; blank lines skipped) as headers, checked;
    ``ValidationError`` naming the line that is not one."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon:
            raise ValidationError(_("Line %(line)s is not “Name: value”.") % {"line": number})
        headers[name.strip()] = value.strip()
    return check(headers)


def outgoing(own: Mapping[str, str], console: Mapping[str, str]) -> dict[str, str]:
    """A request's headers: the receiver's own, less any the console sets (stored before a rule
    was added, say), then the console's."""
    return {**{k: v for k, v in own.items() if not is_forbidden(k)}, **console}
