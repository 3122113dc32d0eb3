"""The template engine: Jinja2's sandboxed environment, with a budget and escaping per medium.

What a template may do is what Jinja's :class:`~jinja2.sandbox.SandboxedEnvironment` allows
(no attribute starting with ``_``, no ``mro``/``func_globals`` tricks, no calling unsafe
methods), minus what could reach outside or run away:

* **No way out**: the only names are the incident's variables and the functions of
  :mod:`oncall.notify.functions`; no ``import``/``include``/``extends`` (there is no loader), no
  ``namespace`` (the one way to carry a growing value across loop turns), no ``lipsum`` or
  ``random``; filters are an allow-list of pure ones.
* **A time budget**: every call, attribute and item lookup checks the deadline, and a watchdog
  interrupts a render still running when it passes (an empty loop over a long range calls
  nothing, so only the watchdog can stop it): :class:`TemplateFailure`.
* **A size budget**: ``*`` on strings and lists is checked before it is computed, no string
  argument may exceed the output limit, ``range`` is capped, and output past the medium's limit
  stops the render (the caller may cut a render to the limit visibly: :func:`render`).
* **Escaping per medium**: every value a ``{{ ... }}`` prints goes through the medium's escape
  (lark_md for Feishu cards, ...), so an alert's text cannot forge a mention, a link or markup.
  The template's own literal text is the admin's and is not escaped. Only values of
  :class:`Verbatim` (made by the console's own functions, never by a template) skip it.
"""

from __future__ import annotations

import ctypes
import operator
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import (
    ChainableUndefined,
    TemplateError,
    TemplateSyntaxError,
    meta,
    nodes,
)
from jinja2.sandbox import SandboxedEnvironment

#: Whole seconds are too coarse for a card sent to a hundred people; a render takes ~1 ms.
DEFAULT_TIME_LIMIT = 0.5
#: The largest list ``range`` makes (Jinja's own cap is 100,000).
MAX_RANGE = 1000
#: The longest string a function may be called with: far above any alert's text, far below
#: what a template doubling a value in a recursive macro would reach.
MAX_VALUE_CHARS = 1_000_000
ELLIPSIS = "…"

# Pure filters only: nothing that builds markup for HTML (``urlize``, ``xmlattr``), grows a
# string by a number a template chooses (``center``, ``indent``, ``wordwrap``, ``format``),
# bypasses escaping (``safe``) or is not repeatable (``random``).
ALLOWED_FILTERS = frozenset(
    {
        "abs",
        "batch",
        "capitalize",
        "count",
        "d",
        "default",
        "dictsort",
        "first",
        "float",
        "groupby",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
    }
)
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


class _Budget(threading.local):
    deadline: float = float("inf")
    max_chars: int = 1 << 20


class _Timeout(BaseException):
    """Raised into the rendering thread by the watchdog. A BaseException, so that no
    ``except Exception`` between here and there swallows it."""


class SandboxEnvironment(SandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def __init__(self) -> None:
        super().__init__(
            undefined=_Quiet,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            finalize=self._escape_value,
            extensions=(),
        )
        self.budget = _Budget()
        self.escape_value: threading.local = threading.local()
        self.filters = {name: f for name, f in self.filters.items() if name in ALLOWED_FILTERS}
        self.filters["replace"] = _bounded_replace
        for name in ALLOWED_TESTS_REMOVED:
            self.tests.pop(name, None)
        self.globals = {"range": _bounded_range, "dict": dict}

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Jinja's default is an undefined value that fails when used; a quiet undefined would
        # print nothing, and the admin would not learn that the template reached for it.
        raise TemplateFailure(f"access to {attribute!r} is not allowed in templates")

    # --- escaping -----------------------------------------------------------------------

    def _escape_value(self, value: Any) -> Any:
        if isinstance(value, Verbatim):
            return str(value)
        if value is None or isinstance(value, _Quiet):
            return ""
        escape = getattr(self.escape_value, "escape", None)
        text = value if isinstance(value, str) else _as_text(value)
        return escape(str(text)) if escape else str(text)

    # --- budget -------------------------------------------------------------------------

    def _check(self) -> None:
        if time.monotonic() > self.budget.deadline:
            raise TemplateFailure("the template took too long to render")

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        self._check()
        for value in (*args, *kwargs.values()):
            if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
                raise TemplateFailure("a value grew past the output limit")
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self._check()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self._check()
        return super().getitem(obj, argument)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        self._check()
        if operator_ == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise TemplateFailure("a power larger than 64 is not allowed")
            return operator.pow(left, right)
        sequences = str | list | tuple
        if isinstance(left, sequences) or isinstance(right, sequences):
            sequence, times = (left, right) if isinstance(left, sequences) else (right, left)
            if isinstance(times, int) and len(sequence) * max(times, 0) > self.budget.max_chars:
                raise TemplateFailure("a repeated value would pass the output limit")
        return operator.mul(left, right)


@lru_cache(maxsize=256)
def compile_body(body: str) -> Any:
    """The compiled template, or :class:`TemplateFailure` with the line of a syntax error.
    Kept per body text (compiling costs milliseconds; a template renders in a fraction of
    that, and every card refresh renders it again)."""
    try:
        return ENVIRONMENT.from_string(body)
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
    time_limit: float = DEFAULT_TIME_LIMIT,
    cut: bool = True,
) -> str:
    """``body`` rendered with ``context`` for ``medium``: values escaped, blank lines left by
    missing labels removed (as the knowledge base's Feishu and Slack defaults expect), at most
    ``medium.max_chars`` characters (cut with an ellipsis, or, with ``cut=False``, refused).

    Raises :class:`TemplateFailure` (syntax, time, size, any error while rendering)."""
    template = compile_body(body)
    budget = ENVIRONMENT.budget
    budget.deadline = time.monotonic() + time_limit
    budget.max_chars = medium.max_chars
    ENVIRONMENT.escape_value.escape = medium.escape
    try:
        with _watchdog(time_limit):
            text = _collect(template.generate(**context), medium.max_chars, cut=cut)
    except TemplateFailure:
        raise
    except _Timeout:
        raise TemplateFailure("the template took too long to render") from None
    except RecursionError:
        raise TemplateFailure("the template calls itself too deeply") from None
    except Exception as error:  # whatever a template's mistake raises: the admin's to fix
        raise TemplateFailure(f"{type(error).__name__}: {error}") from None
    finally:
        budget.deadline = float("inf")
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


class _watchdog:
    """Raises :class:`_Timeout` in this thread if the block runs past ``seconds``: a loop that
    calls nothing is checked by nothing else. The exception is only ever injected while the
    block runs, and any still pending when it ends is cleared."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.thread_id = threading.get_ident()
        self.lock = threading.Lock()
        self.active = False
        self.timer = threading.Timer(seconds, self._interrupt)
        self.timer.daemon = True

    def __enter__(self) -> _watchdog:
        self.active = True
        self.timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        with self.lock:
            self.active = False
        self.timer.cancel()
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self.thread_id), None)

    def _interrupt(self) -> None:
        with self.lock:
            if self.active:
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread_id), ctypes.py_object(_Timeout)
                )


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise TemplateFailure(f"range() is limited to {MAX_RANGE} numbers")
    return numbers


def _bounded_replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    if len(new) > len(old):
        places = text.count(old) if old else len(text) + 1
        growth = places * (len(new) - len(old))
        if len(text) + growth > ENVIRONMENT.budget.max_chars:
            raise TemplateFailure("replace() would pass the output limit")
    return text.replace(old, new, -1 if count is None else count)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(_as_text(item) for item in value)
    return str(value)


# Built after the helpers it uses; one per process (its budget is per thread).
ENVIRONMENT = SandboxEnvironment()
