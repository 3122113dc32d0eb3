"""The template engine: the console's Jinja2 sandbox (:mod:`oncall.sandbox`) with escaping per
medium and a budget per render.

What a template may do is what the sandbox allows (no attribute starting with ``_``, no unsafe
methods, no mutation, only bounded filters, a deadline checked on every lookup, call and loop
turn, size limits on values), minus what notifications do not need:

* **No way out**: the only names are the incident's variables and the functions of
  :mod:`oncall.notify.functions`; no ``import``/``include``/``extends``, no ``namespace`` (the
  one way to carry a growing value across loop turns), no ``lipsum`` or ``random``.
* **A budget per render**: 0.5 s (:data:`DEFAULT_TIME_LIMIT`), ``range`` capped at
  :data:`MAX_RANGE`, and output past the medium's limit stops the render (the caller may cut
  a render to the limit visibly: :func:`render`). A private attribute is refused, not quietly
  empty, so the admin learns of it.
* **Escaping per medium**: every value a ``{{ ... }}`` prints goes through the medium's escape
  (lark_md for Feishu cards, ...), so an alert's text cannot forge a mention, a link or markup.
  The template's own literal text is the admin's and is not escaped. Only values of
  :class:`Verbatim` (made by the console's own functions, never by a template) skip it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError

from oncall.sandbox import BOUNDED_FILTERS, LimitedSandbox, time_limit

#: Whole seconds are too coarse for a card sent to a hundred people; a render takes ~1 ms.
DEFAULT_TIME_LIMIT = 0.5
#: The largest list ``range`` makes (Jinja's own cap is 100,000).
MAX_RANGE = 1000
ELLIPSIS = "…"

# The sandbox's bounded filters, less ``e``/``escape``: they make HTML Markup, and escaping is
# the medium's here (every printed value goes through it anyway).
ALLOWED_FILTERS = BOUNDED_FILTERS - {"e", "escape"}
ALLOWED_TESTS_REMOVED = frozenset({"callable", "sameas"})


class Verbatim(str):
    """Text the console made (a URL it built, an escaped join), printed as it is. Templates
    cannot make one: no function or filter available to them returns this type."""


class TemplateFailure(Exception):
    """A template that cannot be used: a syntax error (``line`` says where), a time-out, an
    output over the limit, an error while rendering. ``reason`` is for the admin."""

    def __init__(self, reason: str, line: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}" if self.line else self.reason


@dataclass(frozen=True)
class Medium:
    """Somewhere a rendered template goes, as a platform declares it."""

    name: str  # the key in NotificationTemplate.bodies, e.g. "feishu_card"
    label: str  # for the admin: "Feishu card body"
    escape: Callable[[str], str]  # applied to every printed value
    max_chars: int  # longer output is cut, with an ellipsis, never refused by the platform
    default: str  # the built-in template (Jinja)
    syntax: str = ""  # the markup the medium understands, for the editor's help


class _Quiet(ChainableUndefined):
    """A missing variable, label or attribute is empty, as the knowledge base's templates
    expect (``{{ Labels.resource }}`` on an incident without one), and chains
    (``Labels.a.b``)."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""


class SandboxEnvironment(LimitedSandbox):
    allowed_filters = ALLOWED_FILTERS
    max_range = MAX_RANGE

    def __init__(self) -> None:
        super().__init__(
            undefined=_Quiet,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            finalize=self._escape_value,
        )
        self.escape_value: threading.local = threading.local()
        for name in ALLOWED_TESTS_REMOVED:
            self.tests.pop(name, None)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Jinja's default is an undefined value that fails when used; a quiet undefined would
        # print nothing, and the admin would not learn that the template reached for it.
        raise TemplateFailure(f"access to {attribute!r} is not allowed in templates")

    def _escape_value(self, value: Any) -> Any:
        if isinstance(value, Verbatim):
            return str(value)
        if value is None or isinstance(value, _Quiet):
            return ""
        escape = getattr(self.escape_value, "escape", None)
        text = value if isinstance(value, str) else _as_text(value)
        return escape(str(text)) if escape else str(text)


@lru_cache(maxsize=256)
def compile_body(body: str) -> Any:
    """The compiled template, or :class:`TemplateFailure` with the line of a syntax error.
    Kept per body text (compiling costs milliseconds; a template renders in a fraction of
    that, and every card refresh renders it again)."""
    try:
        return ENVIRONMENT.compile_bounded(body, what="a notification template")
    except TemplateSyntaxError as error:
        raise TemplateFailure(error.message or "syntax error", error.lineno) from None
    except TemplateError as error:
        raise TemplateFailure(str(error)) from None


def unknown_names(body: str, known: Mapping[str, Any]) -> list[str]:
    """Names a template reads that are neither variables nor functions (a typo, or a Go
    template construct left unconverted), in order of first use. Raises
    :class:`TemplateFailure` for a syntax error."""
    try:
        tree = ENVIRONMENT.parse(body)
    except TemplateSyntaxError as error:
        raise TemplateFailure(error.message or "syntax error", error.lineno) from None
    undeclared = meta.find_undeclared_variables(tree)
    names = [node.name for node in tree.find_all(nodes.Name) if node.name in undeclared]
    return [
        name
        for name in dict.fromkeys(names)
        if name not in known and name not in ENVIRONMENT.globals
    ]


def render(
    body: str,
    context: Mapping[str, Any],
    medium: Medium,
    *,
    time_limit_seconds: float = DEFAULT_TIME_LIMIT,
    cut: bool = True,
) -> str:
    """``body`` rendered with ``context`` for ``medium``: values escaped, blank lines left by
    missing labels removed (as the knowledge base's Feishu and Slack defaults expect), at most
    ``medium.max_chars`` characters (cut with an ellipsis, or, with ``cut=False``, refused).

    Raises :class:`TemplateFailure` (syntax, time, size, any error while rendering)."""
    template = compile_body(body)
    ENVIRONMENT.escape_value.escape = medium.escape
    try:
        with time_limit(time_limit_seconds):
            text = _collect(template.generate(**context), medium.max_chars, cut=cut)
    except TemplateFailure:
        raise
    except SecurityError as error:  # a limit (time, size) or something the sandbox refuses
        raise TemplateFailure(str(error)) from None
    except RecursionError:
        raise TemplateFailure("the template calls itself too deeply") from None
    except Exception as error:  # whatever a template's mistake raises: the admin's to fix
        raise TemplateFailure(f"{type(error).__name__}: {error}") from None
    finally:
        ENVIRONMENT.escape_value.escape = None
    return _without_blank_lines(text)


def _collect(chunks: Iterator[str], limit: int, *, cut: bool) -> str:
    parts: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        parts.append(chunk)
        if size > limit * 2 + 1024:  # room for the blank lines still to be removed
            break
    text = _without_blank_lines("".join(parts))
    if len(text) <= limit:
        return text
    if not cut:
        raise TemplateFailure(f"the output is longer than {limit} characters")
    return text[: limit - 1].rstrip() + ELLIPSIS


def _without_blank_lines(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if line.strip())


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(item) for item in value)
    return str(value)


# Built after the helpers it uses; one per process (its budget is per thread).
ENVIRONMENT = SandboxEnvironment()
