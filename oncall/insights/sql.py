"""The SQL pieces insights need that Django does not have: a continuous percentile and the
seconds between two times, on PostgreSQL and on SQLite (the embedded default).

PostgreSQL computes the percentile itself (``percentile_cont``). SQLite has no such function,
so every SQLite connection gets ``oncall_percentile_cont``, an aggregate written in Python that
gives the same answers (``register_sqlite_functions``, connected in ``OncallConfig.ready``):
slower, but the queries are the same queries on both.
"""

from __future__ import annotations

import math
from typing import Any

from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, Expression, FloatField, Func
from django.db.models.sql.compiler import SQLCompiler

SQLITE_PERCENTILE = "oncall_percentile_cont"


def percentile_cont(ordered: list[float], fraction: float) -> float | None:
    """The value at ``fraction`` of the sorted values, interpolated between the two nearest
    ones as PostgreSQL's ``percentile_cont`` does; None for no values."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


class Percentile(Aggregate):
    """``percentile_cont(fraction)`` of an expression's values; NULLs are left out (wrap the
    expression in ``Case``/``When`` to leave out more). ``fraction`` is a constant of the code,
    written into the SQL, never a user's input."""

    function = "PERCENTILE_CONT"
    name = "Percentile"
    output_field = FloatField()

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError(f"A percentile's fraction is between 0 and 1, not {fraction}.")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list]:
        raise NotSupportedError("Percentiles are computed on PostgreSQL and SQLite only.")

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"PERCENTILE_CONT({self.fraction!r}) WITHIN GROUP (ORDER BY {sql})", list(params)

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list]:
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"{SQLITE_PERCENTILE}({sql}, {self.fraction!r})", list(params)


class SecondsBetween(Func):
    """``end - start`` in seconds (a float; NULL when either is NULL)."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end: Expression | str, start: Expression | str) -> None:
        super().__init__(end, start)

    def as_sql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list]:
        raise NotSupportedError("Durations are computed on PostgreSQL and SQLite only.")

    def _operands(self, compiler: SQLCompiler) -> tuple[str, str, list]:
        end, start = self.get_source_expressions()
        end_sql, end_params = compiler.compile(end)
        start_sql, start_params = compiler.compile(start)
        return end_sql, start_sql, [*end_params, *start_params]

    def as_postgresql(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list]:
        end, start, params = self._operands(compiler)
        # EXTRACT answers numeric; percentile_cont orders double precision.
        return f"EXTRACT(EPOCH FROM ({end} - {start}))::double precision", params

    def as_sqlite(
        self, compiler: SQLCompiler, connection: BaseDatabaseWrapper, **extra_context: Any
    ) -> tuple[str, list]:
        end, start, params = self._operands(compiler)
        # Julian days in a double keep about 0.1 ms; rounding to the millisecond hides that.
        return f"ROUND((JULIANDAY({end}) - JULIANDAY({start})) * 86400.0, 3)", params


class _SqlitePercentile:
    """SQLite's side of ``Percentile``: collects the values, sorts them at the end."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return percentile_cont(sorted(self.values), self.fraction)


def register_sqlite_functions(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """``connection_created`` receiver: give each new SQLite connection the percentile."""
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate(SQLITE_PERCENTILE, 2, _SqlitePercentile)
