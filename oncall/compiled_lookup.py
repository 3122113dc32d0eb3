"""A one-row lookup by one column whose SQL is compiled once per thread and database, not on
every call.

``Model.objects.filter(column=value)[:1]`` builds a queryset, a WHERE tree and a compiler, and
compiles them to the same SQL on every call: on the push URL, whose first query is the source
by its token's digest, that was most of the lookup's CPU, more than the round trip. A
``CompiledLookup`` compiles the ORM's own query once (so the SQL, the columns and their
converters are exactly the ORM's) and then only runs it: one ``cursor.execute`` through the
connection's execute wrappers, the row converted as the ORM converts it, the instance built by
``Model.from_db``. Kept per thread because a compiled query's converters belong to the
connection they were compiled for, and connections are per thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model

M = TypeVar("M", bound=Model)

# For each column of the row: the converters of its value, and the expression they take.
Converters = dict[int, tuple[list[Callable[..., Any]], Any]]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    attnames: list[str]
    converters: Converters


class CompiledLookup(Generic[M]):
    """The first ``model`` row whose ``field`` equals a value, as ``model.objects.filter(
    **{field: value}).order_by()[:1]`` finds it (no ``ORDER BY``: for a unique column)."""

    def __init__(self, model: type[M], field: str) -> None:
        self.model, self.field = model, field
        self._local = threading.local()

    def get(self, value: Any, *, using: str = DEFAULT_DB_ALIAS) -> M | None:
        connection = connections[using]
        compiled = self._compiled(using, connection)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, [value])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for position, (functions, expression) in compiled.converters.items():
            for convert in functions:
                values[position] = convert(values[position], expression, connection)
        return self.model.from_db(using, compiled.attnames, values)

    def _compiled(self, using: str, connection: Any) -> _Compiled:
        kept: dict[tuple[str, str], _Compiled] = self._local.__dict__.setdefault("kept", {})
        key = (using, connection.vendor)
        if key not in kept:
            kept[key] = self._compile(using, connection)
        return kept[key]

    def _compile(self, using: str, connection: Any) -> _Compiled:
        # The value is a parameter, never in the SQL: compiled with a stand-in, run with any.
        queryset = self.model._default_manager.using(using).filter(**{self.field: ""}).order_by()
        compiler = queryset[:1].query.get_compiler(using=using, connection=connection)
        sql, params = compiler.as_sql()
        if len(params) != 1:
            raise ValueError(f"{self.model.__name__}.{self.field}: expected one parameter")
        columns = [expression for expression, _, _ in compiler.select]
        attnames = [expression.target.attname for expression in columns]
        return _Compiled(sql, attnames, compiler.get_converters(columns))
