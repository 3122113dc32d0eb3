"""The one Jinja2 sandbox for text admins write: notification templates (``oncall.notify``) and
custom-webhook mappings (``integrations.sources.custom_webhook``), with limits on time and size.

Jinja2's ``ImmutableSandboxedEnvironment`` already stops a template from reaching Python's
internals (no ``__class__``, no private attributes, no ``list.append``). It does not stop a
template from being slow or huge, and templates run inside requests and card sends, so this
module adds:

* **a deadline** (:func:`time_limit`), checked on every attribute or item lookup, every call
  (filters' arguments, macros, ``range``) and every turn of a ``{% for %}`` loop: each ``for``
  is rewritten at compile time to iterate through :meth:`LimitedSandbox.bounded_iter`, which a
  template cannot name, so nested loops cannot run on unchecked;
* **sizes**: ``*``, ``**`` and ``+`` refuse results past ``max_value_chars``, ``range`` gives at
  most ``max_range`` numbers, every call's result is checked;
* **fewer tools**: only filters whose output is bounded by their input (a subclass's
  ``allowed_filters``), no globals but a bounded ``range`` and ``dict``; string methods that
  make output of a size chosen by a number (``center``, ``ljust``, ``format``...) are refused;
  ``join`` and ``replace`` check the size first; ``%`` formatting of strings is refused;
  recursive loops, ``include``, ``extends`` and ``import`` are refused when compiled.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any, ClassVar

from jinja2 import nodes, pass_eval_context
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.filters import do_join, do_replace
from jinja2.nodes import EvalContext
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_VALUE_CHARS = 1024 * 1024
MAX_EXPONENT = 256

# Filters whose output is bounded by their input: what a subclass may allow.
BOUNDED_FILTERS = frozenset(
    {
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
# String methods whose output size is chosen by an argument (or that the sandbox would have to
# re-check): the filters above do the same jobs within the limits.
_STR_METHODS_REFUSED = frozenset(
    {"center", "expandtabs", "format", "format_map", "join", "ljust", "replace", "rjust", "zfill"}
)
_STATEMENTS_REFUSED = {
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from ... import",
}


class LimitExceeded(SecurityError):
    """A template went past a time or size limit while rendering."""


# (deadline, the limit it came from) of the render in progress in this thread or task.
_deadline: ContextVar[tuple[float, float]] = ContextVar(
    "sandbox_deadline", default=(float("inf"), 0.0)
)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Everything rendered inside shares one deadline (a push's alerts, a card's body)."""
    token = _deadline.set((time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def check_deadline() -> None:
    deadline, seconds = _deadline.get()
    if time.monotonic() > deadline:
        raise LimitExceeded(f"rendering took longer than {seconds:g} s")


def check_size(value: Any) -> Any:
    if isinstance(value, str | list | tuple) and len(value) > MAX_VALUE_CHARS:
        raise LimitExceeded(f"a value grew past {MAX_VALUE_CHARS:,} characters")
    return value


@pass_eval_context
def _checked_join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
) -> str:
    items = list(value)
    if len(items) * len(d) > MAX_VALUE_CHARS:
        raise LimitExceeded(f"join would make more than {MAX_VALUE_CHARS:,} characters")
    return check_size(do_join(eval_ctx, items, d, attribute))


@pass_eval_context
def _checked_replace(
    eval_ctx: EvalContext, value: str, old: str, new: str, count: int | None = None
) -> str:
    text, old, new = str(value), str(old), str(new)
    hits = text.count(old) if old else len(text) + 1
    if len(text) + hits * max(len(new) - len(old), 0) > MAX_VALUE_CHARS:
        raise LimitExceeded(f"replace would make more than {MAX_VALUE_CHARS:,} characters")
    return do_replace(eval_ctx, text, old, new, count)


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with its limits; a subclass sets ``allowed_filters`` and ``max_range`` and
    passes Jinja's own options (undefined, finalize, whitespace) to ``__init__``."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    allowed_filters: ClassVar[frozenset[str]] = BOUNDED_FILTERS
    max_range: ClassVar[int] = 10_000

    def __init__(self, **options: Any) -> None:
        super().__init__(autoescape=False, **options)
        self.filters = {name: self.filters[name] for name in self.allowed_filters}
        if "join" in self.filters:
            self.filters["join"] = _checked_join
        if "replace" in self.filters:
            self.filters["replace"] = _checked_replace
        self.globals = {"range": self._bounded_range, "dict": dict}

    def _bounded_range(self, *args: int) -> range:
        numbers = range(*args)
        if len(numbers) > self.max_range:
            raise LimitExceeded(f"range() may give at most {self.max_range:,} numbers")
        return numbers

    # --- the limits, checked where a template does work ------------------------------------

    def bounded_iter(self, iterable: Any) -> Iterator[Any]:
        """Every ``{% for %}`` iterates through here (see :meth:`compile_bounded`)."""
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
        return check_size(super().call(__context, __obj, *args, **kwargs))

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_deadline()
        if operator == "%" and isinstance(left, str):
            raise SecurityError("'%' formatting of strings is not available: use ~ to join")
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise LimitExceeded(f"an exponent may be at most {MAX_EXPONENT}")
        if operator == "*":
            _check_repeat(left, right)
        return check_size(super().call_binop(context, operator, left, right))

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str) and attr in _STR_METHODS_REFUSED:
            return False
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        return None  # str.format is refused (is_safe_attribute), not sandboxed

    # --- compiling ---------------------------------------------------------------------------

    def compile_bounded(self, source: str | nodes.Template, *, what: str = "a template") -> Any:
        """``source`` compiled with its loops bounded; ``TemplateSyntaxError`` for a syntax
        error or a statement templates may not use (``what`` names the kind of text)."""
        tree = self.parse(source) if isinstance(source, str) else source
        _refuse_statements(tree, what)
        _bound_loops(tree)
        return self.from_string(tree)


def _check_repeat(left: Any, right: Any) -> None:
    for seq, times in ((left, right), (right, left)):
        sized = isinstance(seq, str | list | tuple) and isinstance(times, int)
        if sized and len(seq) * times > MAX_VALUE_CHARS:
            raise LimitExceeded(f"a value would grow past {MAX_VALUE_CHARS:,} characters")


def _refuse_statements(tree: nodes.Template, what: str) -> None:
    for node_type, name in _STATEMENTS_REFUSED.items():
        for node in tree.find_all(node_type):
            raise TemplateSyntaxError(f"{{% {name} %}} is not available in {what}", node.lineno)
    for loop in tree.find_all(nodes.For):
        if loop.recursive:
            raise TemplateSyntaxError(f"recursive loops are not available in {what}", loop.lineno)


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
