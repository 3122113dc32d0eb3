"""Reading the JSON that strangers send: the one reader for every body arriving at the edge.

The push URLs of every alert source (``oncall.views.push`` and the URLs a source declares), the
chat platforms' callbacks and the REST API's parser (``oncall.api.parsers``) read their bodies
with :func:`decode`. It refuses, with :class:`InvalidJSON` and a reason the sender can act on,
what the console cannot even hold in memory safely:

* nesting deeper than :data:`MAX_DEPTH` levels: Python's reader fails with ``RecursionError``
  near 1,000 levels, and every later step (parsers, ``json.dumps`` into the database) walks
  the value recursively too. Real senders stay under 10 levels.
* integers of more than :data:`MAX_INT_DIGITS` digits: Python refuses to convert them
  (``sys.get_int_max_str_digits``, CVE-2020-10735).
* ``NaN``, ``Infinity`` and numbers that overflow to it (``1e999``): Python reads them, JSON has
  no such values and PostgreSQL's jsonb refuses them.

**Text the console cannot store is replaced, not refused.** The NUL character (PostgreSQL
refuses it in text and jsonb) and unpaired UTF-16 surrogates (``"\\ud800"``: not characters at
all, so they have no UTF-8 form to store or hash) become U+FFFD REPLACEMENT CHARACTER in every
string of the body, object keys included, and :attr:`Decoded.replaced` lists the path of each
string changed (``alerts[0].labels.team``), so that the stored push carries a note saying where
(:func:`replacement_note`). Why replace rather than refuse with a 400 naming the field: an alert
source is a machine nobody can fix from here, and a refused push is an alert lost (Alertmanager
loses its whole group); an alert with "�" in one label is still an alert someone must see. A
person at the REST API can fix what they send, so the API's parser refuses such text instead
(``Decoded.replaced`` not empty), as DRF's own text fields already do.

Nothing downstream of this reader sees a NUL or a lone surrogate: parsers, routing, the
identity hashes and the database get clean strings.
"""

from __future__ import annotations

import json
import math
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from oncall.languages import Said, in_english

if TYPE_CHECKING:
    from django.http import HttpRequest

#: How deep a body may nest objects and arrays (``[]`` is 1 level, ``{"a": []}`` 2).
MAX_DEPTH = 64
#: The longest integer Python converts (its default ``int_max_str_digits``).
MAX_INT_DIGITS = sys.get_int_max_str_digits() or 4300
REPLACEMENT = "\ufffd"
#: How many changed paths a note names before it only counts the rest.
NOTE_MAX_PATHS = 10

# NUL and every surrogate code point. A paired surrogate in JSON (``"\ud83d\ude00"``) is decoded
# into one real character, so a surrogate left in a decoded string is always unpaired.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# The escapes that can produce one; a body without any needs no cleaning pass.
_UNSTORABLE_ESCAPE = re.compile(r"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


class InvalidJSON(ValueError):
    """The body cannot be read; ``reason`` says why, for the sender."""

    def __init__(self, reason: Said | str) -> None:
        self.said = reason if isinstance(reason, Said) else Said(reason)
        self.reason = in_english(reason)  # what is logged and stored
        super().__init__(self.reason)


@dataclass(frozen=True)
class Decoded:
    """A decoded body: its value, with unstorable text replaced, and where that happened."""

    value: Any
    # Paths of the strings (keys or values) whose NUL or surrogate became U+FFFD.
    replaced: list[str] = field(default_factory=list)


def decode(raw: bytes | str) -> Decoded:
    """The JSON value of ``raw`` (UTF-8 bytes, or text), else ``InvalidJSON`` with the reason."""
    text = _text(raw)
    value = _loads(text)
    if _deeper_than(value, MAX_DEPTH):
        raise _too_deep()
    if not (_UNSTORABLE_ESCAPE.search(text) or _UNSTORABLE.search(text)):
        return Decoded(value)  # the common case: nothing to clean, no second walk
    replaced: list[str] = []
    return Decoded(_clean(value, "", replaced), replaced)


def read_limited(request: HttpRequest, limit: int) -> bytes | None:
    """A request's body, or None when it is larger than ``limit`` bytes. Read from the stream
    (at most ``limit + 1`` bytes), never through ``request.body``, whose
    ``int(CONTENT_LENGTH)`` fails on a header that is not a number; such a header counts as
    none, and the read stops at the limit all the same."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:  # "abc", "²", or more digits than Python converts
        declared = 0
    if declared > limit:
        return None
    body = request.read(limit + 1)
    return None if len(body) > limit else body


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character the console cannot store (NUL, a lone surrogate)."""
    return _UNSTORABLE.search(text) is not None


def replacement_note(paths: list[str]) -> str | None:
    """The note a stored push carries when :func:`decode` replaced some of its text."""
    if not paths:
        return None
    named = ", ".join(paths[:NOTE_MAX_PATHS])
    more = len(paths) - NOTE_MAX_PATHS
    if more > 0:
        named += f" and {more} more"
    return (
        "Characters the console cannot store (NUL, unpaired UTF-16 surrogates) were replaced "
        f"with U+FFFD in: {named}."
    )


# --- Reading -----------------------------------------------------------------------------------


def _text(raw: bytes | str) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJSON(Said(_("The body is not UTF-8 text."))) from None


def _loads(text: str) -> Any:
    try:
        return json.loads(
            text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant
        )
    except InvalidJSON:
        raise
    except RecursionError:
        raise _too_deep() from None
    except json.JSONDecodeError as exc:
        raise InvalidJSON(Said(_("The body is not valid JSON: %(reason)s"), reason=exc)) from None


def _too_deep() -> InvalidJSON:
    return InvalidJSON(
        Said(_("The JSON is nested deeper than %(levels)s levels."), levels=MAX_DEPTH)
    )


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise InvalidJSON(
            Said(
                _("A number in the body has %(digits)s digits; at most %(limit)s digits are read."),
                digits=len(digits.lstrip("-")),
                limit=MAX_INT_DIGITS,
            )
        )
    return int(digits)


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise InvalidJSON(
            Said(_("The number %(number)s is too large to be read."), number=literal[:40])
        )
    return number


def _no_constant(name: str) -> Any:
    raise InvalidJSON(Said(_("%(name)s is not a JSON value."), name=name))


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether ``value`` nests more than ``limit`` levels; iterative, so any depth is safe."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


# --- Cleaning ----------------------------------------------------------------------------------


def _clean(value: Any, path: str, replaced: list[str]) -> Any:
    """``value`` with every NUL and lone surrogate replaced; ``replaced`` gets their paths.
    Recursive, which is safe: the depth was checked first."""
    if isinstance(value, str):
        if not _UNSTORABLE.search(value):
            return value
        replaced.append(path or "the body")
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [_clean(item, f"{path}[{index}]", replaced) for index, item in enumerate(value)]
    if isinstance(value, dict):
        cleaned = {}
        for key, item in value.items():
            clean_key = _UNSTORABLE.sub(REPLACEMENT, key)
            where = f"{path}.{clean_key}" if path else clean_key
            if clean_key != key:
                replaced.append(where)
            cleaned[clean_key] = _clean(item, where, replaced)
        return cleaned
    return value
