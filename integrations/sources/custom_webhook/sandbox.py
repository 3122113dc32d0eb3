"""The sandbox a custom-webhook mapping runs in: the console's one Jinja2 sandbox
(:mod:`oncall.sandbox`: a deadline checked on every lookup, call and loop turn, size limits,
bounded filters), with what mappings add: expressions whose value is kept (not only text),
``namespace``, ``None`` rendered as nothing, and a 2 s deadline per push shared by its alerts.

What is left is bounded by the body (``PUSH_MAX_BODY_BYTES``) times the mapping's own length.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import Any

from jinja2 import ChainableUndefined, Undefined, nodes
from jinja2.exceptions import TemplateSyntaxError
from jinja2.lexer import describe_token
from jinja2.parser import Parser
from jinja2.utils import Namespace

from oncall.sandbox import BOUNDED_FILTERS, LimitedSandbox, LimitExceeded
from oncall.sandbox import time_limit as sandbox_time_limit

__all__ = ["ENVIRONMENT", "Compiled", "LimitExceeded", "is_unset", "time_limit", "variables"]

RENDER_SECONDS = 2.0
MAX_OUTPUT_CHARS = 64 * 1024
MAX_RANGE = 10_000
# ``batch``, ``slice`` and the like make output of a size a mapping chooses: not offered.
_FILTERS = frozenset(BOUNDED_FILTERS)


@contextlib.contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Everything rendered inside shares one deadline (one push: all its alerts)."""
    with sandbox_time_limit(RENDER_SECONDS if seconds is None else seconds):
        yield


class _Undefined(ChainableUndefined):
    """A missing field renders as ``""`` and chains (``alert.a.b.c`` of a body without ``a``),
    because senders leave fields out; the mapping's required fields say when that matters."""


class MappingEnvironment(LimitedSandbox):
    allowed_filters = _FILTERS
    max_range = MAX_RANGE

    def __init__(self) -> None:
        super().__init__(
            undefined=_Undefined,
            # None renders as "" (JSON null is "not set"), not as the word "None".
            finalize=lambda value: "" if value is None else value,
        )
        self.globals["namespace"] = Namespace

    # --- compiling ---------------------------------------------------------------------------

    def compile_template(self, source: str) -> Compiled:
        """``source`` as a template with its loops bounded; ``TemplateSyntaxError`` for a
        statement the mapping may not use."""
        return Compiled(self.compile_bounded(source, what="a mapping"), expression=False)

    def compile_value(self, source: str) -> Compiled:
        """``source`` as one expression whose value is kept (as ``compile_expression`` does,
        but run like the templates: see :meth:`Compiled.run`)."""
        parser = Parser(self, source, state="variable")
        expression = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError(
                f"unexpected {describe_token(parser.stream.current)!r} after the expression",
                parser.stream.current.lineno,
            )
        tree = nodes.Template([nodes.Assign(nodes.Name("result", "store"), expression)])
        tree.set_environment(self)
        return Compiled(self.from_string(tree), expression=True)


class Compiled:
    """A compiled template or expression, run with the variables of one alert.

    Jinja2's ``render`` builds a fresh context for every call, copying the globals into it; a
    push renders ten fields per alert, so the variables (globals included, see
    :func:`variables`) are built once per alert and shared by its fields' contexts: a third of
    the time of a mapping went to those copies."""

    def __init__(self, template: Any, *, expression: bool) -> None:
        self.template = template
        self.expression = expression

    def run(self, shared: dict[str, Any]) -> Any:
        """The rendered text (at most ``MAX_OUTPUT_CHARS``), or the expression's value
        (``None`` for a field the body does not have)."""
        context = self.template.new_context(shared, shared=True)
        chunks = self.template.root_render_func(context)
        if not self.expression:
            return _join_limited(chunks)
        for _ in chunks:
            pass
        value = context.vars.get("result")
        if isinstance(value, Undefined):
            return None
        if isinstance(value, Iterator | tuple):
            # map(), select(), dict.items() give iterators and views: a list, counted out
            # under the deadline like a loop.
            return list(ENVIRONMENT.bounded_iter(value))
        return value


def variables(**values: Any) -> dict[str, Any]:
    """The variables of one alert, with the environment's globals (``range``...)."""
    return {**ENVIRONMENT.globals, **values}


ENVIRONMENT = MappingEnvironment()


def is_unset(value: Any) -> bool:
    """JSON null, or a field the body does not have (inside a list or object an expression
    built, where Jinja leaves its undefined marker)."""
    return value is None or isinstance(value, Undefined)


def _join_limited(chunks: Iterable[str]) -> str:
    """The rendered chunks as one text, stopped at ``MAX_OUTPUT_CHARS``."""
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT_CHARS:
            raise LimitExceeded(f"the text grew past {MAX_OUTPUT_CHARS:,} characters")
        parts.append(chunk)
    return "".join(parts)
