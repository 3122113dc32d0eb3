"""A one-row lookup by one column, and a one-row insert, whose SQL is compiled once per thread
and database, not on every call.

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

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.models import NOT_PROVIDED, Model
from django.db.models.signals import post_save, pre_save

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


@dataclass(frozen=True)
class _CompiledInsert:
    sql: str
    fields: list[Any]
    returning: list[Any]


class CompiledInsert(Generic[M]):
    """``instance.save(force_insert=True)`` of a new ``model`` row, its INSERT written once per
    thread and database: each call only prepares the values (``pre_save`` and
    ``get_db_prep_save``, as the ORM's insert does) and runs one statement, whose RETURNING
    fills in the primary key. Whatever that plain statement would not do as ``save`` does goes
    through ``save`` itself: a model with ``pre_save`` / ``post_save`` receivers, with parents,
    or with fields that have a placeholder or default of their own in SQL, an instance whose
    primary key is set, a value that is an expression, a database that cannot return what it
    inserted."""

    def __init__(self, model: type[M]) -> None:
        self.model = model
        self._local = threading.local()

    def insert(self, instance: M, *, using: str = DEFAULT_DB_ALIAS) -> None:
        connection = connections[using]
        compiled = self._compiled(using, connection)
        if compiled is None or instance.pk is not None or self._has_receivers():
            instance.save(force_insert=True, using=using)
            return
        values = [field.pre_save(instance, True) for field in compiled.fields]
        if any(hasattr(value, "resolve_expression") for value in values):
            instance.save(force_insert=True, using=using)
            return
        params = [
            field.get_db_prep_save(value, connection)
            for field, value in zip(compiled.fields, values, strict=True)
        ]
        instance._prepare_related_fields_for_save(operation_name="save")
        # As ``save`` does: an error inside a transaction marks it for rollback.
        with transaction.mark_for_rollback_on_error(using), connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        for field, value in zip(compiled.returning, row, strict=True):
            setattr(instance, field.attname, value)
        instance._state.adding = False
        instance._state.db = using

    def _has_receivers(self) -> bool:
        return pre_save.has_listeners(self.model) or post_save.has_listeners(self.model)

    def _compiled(self, using: str, connection: Any) -> _CompiledInsert | None:
        kept: dict[tuple[str, str], _CompiledInsert | None] = self._local.__dict__.setdefault(
            "kept", {}
        )
        key = (using, connection.vendor)
        if key not in kept:
            kept[key] = self._compile(connection)
        return kept[key]

    def _compile(self, connection: Any) -> _CompiledInsert | None:
        meta = self.model._meta
        fields = [field for field in meta.local_concrete_fields if field is not meta.auto_field]
        returning = list(meta.db_returning_fields)
        plain = all(
            not hasattr(field, "get_placeholder")
            and not field.generated
            and field.db_default is NOT_PROVIDED
            for field in fields
        )
        if meta.parents or not plain or not connection.features.can_return_columns_from_insert:
            return None
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        returning_sql, _ = connection.ops.return_insert_columns(returning)
        # Identifiers come from the model and are quoted; every value is a parameter.
        table = quote(meta.db_table)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) {returning_sql}"  # noqa: S608
        return _CompiledInsert(sql, fields, returning)
