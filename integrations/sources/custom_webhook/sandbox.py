"""The Jinja2 sandbox a custom-webhook mapping runs in, with limits on time and size.

Jinja2's ``ImmutableSandboxedEnvironment`` already stops a mapping from reaching Python's
internals (no ``__class__``, no private attributes, no ``list.append``). It does not stop a
mapping from being slow or huge, and a mapping runs inside the push request, so this module adds:

* **a deadline** per push (``RENDER_SECONDS``), checked on every attribute or item lookup, every
  call (filters' arguments, macros, ``range``) and every turn of a ``{% for %}`` loop: each
  ``for`` is rewritten at compile time to iterate through :meth:`MappingEnvironment.bounded_iter`,
  which a template cannot name, so nested loops cannot run on unchecked;
* **sizes**: ``*``, ``**``, ``+`` and ``%`` refuse results past ``MAX_VALUE_CHARS``, a rendered
  field stops at ``MAX_OUTPUT_CHARS``, ``range`` gives at most ``MAX_RANGE`` numbers;
* **fewer tools**: the filters, globals and string methods that make output of a size chosen by
  a number (``center``, ``indent``, ``wordwrap``, ``batch``, ``slice``, ``format``,
  ``lipsum``, ``str.ljust``...) are gone; ``join`` and ``replace`` check the size first;
  recursive loops, ``include``, ``extends`` and ``import`` are refused when the mapping is saved.

What is left is bounded by the body (``PUSH_MAX_BODY_BYTES``) times the mapping's own length.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

from jinja2 import ChainableUndefined, Undefined, nodes, pass_eval_context
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.filters import do_join, do_replace
from jinja2.lexer import describe_token
from jinja2.nodes import EvalContext
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

RENDER_SECONDS = 2.0
MAX_OUTPUT_CHARS = 64 * 1024
MAX_VALUE_CHARS = 1024 * 1024
MAX_RANGE = 10_000
MAX_EXPONENT = 256

# Filters kept from Jinja2's defaults: each one's output is bounded by its input.
_FILTERS = {
    "abs",
    "attr",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "filesizeformat",
    "first",
    "float",
    "groupby",
    "int",
    "items",
    "last",
    "length",
    "list",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "reverse",
    "round",
    "select",
    "selectattr",
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
# String methods whose output size is chosen by an argument (or that the sandbox would have to
# re-check): the filters above do the same jobs within the limits.
_STR_METHODS_REFUSED = {
    "center",
    "expandtabs",
    "format",
    "format_map",
    "join",
    "ljust",
    "replace",
    "rjust",
    "zfill",
}
_STATEMENTS_REFUSED = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


class LimitExceeded(SecurityError):
    """A mapping went past a time or size limit while rendering."""


# (deadline, the limit it came from) of the render in progress in this thread or task.
_deadline: ContextVar[tuple[float, float]] = ContextVar(
    "custom_webhook_deadline", default=(float("inf"), 0.0)
)


@contextlib.contextmanager
def time_limit(seconds: float | None = None) -> Iterator[None]:
    """Everything rendered inside shares one deadline (one push: all its alerts)."""
    seconds = RENDER_SECONDS if seconds is None else seconds
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline() -> None:
    deadline, seconds = _deadline.get()
    if time.monotonic() > deadline:
        raise LimitExceeded(f"the mapping took longer than {seconds:g} s to render")


def _check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_VALUE_CHARS:
        raise LimitExceeded(f"a value grew past {MAX_VALUE_CHARS:,} characters")
    return value


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(f"range() may give at most {MAX_RANGE:,} numbers")
    return numbers


@pass_eval_context
def _checked_join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
) -> str:
    items = list(value)
    if len(items) * len(d) > MAX_VALUE_CHARS:
        raise LimitExceeded(f"join would make more than {MAX_VALUE_CHARS:,} characters")
    return _check_size(do_join(eval_ctx, items, d, attribute))


@pass_eval_context
def _checked_replace(
    eval_ctx: EvalContext, value: str, old: str, new: str, count: int | None = None
) -> str:
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if len(text) + hits * max(len(new) - len(old), 0) > MAX_VALUE_CHARS:
        raise LimitExceeded(f"replace would make more than {MAX_VALUE_CHARS:,} characters")
    return do_replace(eval_ctx, text, old, new, count)


class _Undefined(ChainableUndefined):
    """A missing field renders as ``""`` and chains (``alert.a.b.c`` of a body without ``a``),
    because senders leave fields out; the mapping's required fields say when that matters."""


class MappingEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=_Undefined,
            autoescape=False,
            # None renders as "" (JSON null is "not set"), not as the word "None".
            finalize=lambda value: "" if value is None else value,
        )
        self.filters = {name: self.filters[name] for name in _FILTERS}
        self.filters["join"] = _checked_join
        self.filters["replace"] = _checked_replace
        self.globals = {
            "range": _bounded_range,
            "dict": dict,
            "namespace": self.globals["namespace"],
        }

    # --- the limits, checked where a template does work ------------------------------------

    def bounded_iter(self, iterable: Any) -> Iterator[Any]:
        """Every ``{% for %}`` iterates through here (see :func:`_bound_loops`)."""
        for item in iterable:
            check_deadline()
            yield item

    def getattr(self, obj: Any, attribute: str) -> Any:
        check_deadline()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        check_deadline()
        return super().getitem(obj, argument)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        check_deadline()
        return _check_size(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_deadline()
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting of strings is not available: use ~ to join")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise LimitExceeded(f"an exponent may be at most {MAX_EXPONENT}")
        if operator == "*":
            _check_repeat(left, right)
        return _check_size(super().call_binop(context, operator, left, right))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _STR_METHODS_REFUSED:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        return None  # str.format is refused (is_safe_attribute), not sandboxed

    # --- compiling ---------------------------------------------------------------------------

    def compile_template(self, source: str) -> Compiled:
        """``source`` as a template with its loops bounded; ``TemplateSyntaxError`` for a
        statement the mapping may not use."""
        tree = self.parse(source)
        _refuse_statements(tree)
        _bound_loops(tree)
        return Compiled(self.from_string(tree), expression=False)

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


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
        if sized and len(seq) * times > MAX_VALUE_CHARS:
            raise LimitExceeded(f"a value would grow past {MAX_VALUE_CHARS:,} characters")


def _refuse_statements(tree: nodes.Template) -> None:
    for node_type, name in _STATEMENTS_REFUSED.items():
        for node in tree.find_all(node_type):
            raise TemplateSyntaxError(f"{{% {name} %}} is not available in a mapping", node.lineno)
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateSyntaxError("recursive loops are not available in a mapping", loop.lineno)


def _bound_loops(tree: nodes.Template) -> None:
    # An EnvironmentAttribute compiles to ``environment.bounded_iter``: no template can name
    # it, so no template can shadow it.
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(
            nodes.EnvironmentAttribute("bounded_iter", lineno=loop.lineno),
            [loop.iter],
            [],
            None,
            None,
            lineno=loop.lineno,
        )


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
