"""A migration operation for what people read: many fields' and models' names, help texts and
choices changed at once, in one step of the migration state and with no SQL.

Django writes one ``AlterField`` per field whose ``verbose_name``, ``help_text`` or
``choices`` changed, and one ``AlterModelOptions`` per model. Each is a step of its own: the
executor clones the whole project state before it, and a relation field's step re-renders
every related model. Translating the admin changed 450 of them, and running them took 17 s
of every ``migrate`` (each test database, each migration test). None changes the schema (the
schema editor skips those attributes), so :class:`Relabel` applies them all in one step.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations
from django.db.migrations.operations.base import Operation


class Relabel(Operation):
    """``options``: model name -> its options (as ``AlterModelOptions`` has them);
    ``fields``: ``(model name, field name, field)`` (as ``AlterField`` has them)."""

    reduces_to_sql = False
    reversible = True

    def __init__(
        self,
        options: dict[str, dict[str, Any]] | None = None,
        fields: list[tuple[str, str, Any]] | None = None,
    ) -> None:
        self.options = options or {}
        self.fields = fields or []

    def deconstruct(self) -> tuple[str, list, dict[str, Any]]:
        return (self.__class__.__qualname__, [], {"options": self.options, "fields": self.fields})

    def state_forwards(self, app_label: str, state: Any) -> None:
        touched = set()
        for model_name, options in self.options.items():
            key = (app_label, model_name.lower())
            model_state = state.models[key]
            model_state.options = {**model_state.options, **options}
            for option in migrations.AlterModelOptions.ALTER_OPTION_KEYS:
                if option not in options:
                    model_state.options.pop(option, None)
            touched.add(key)
        for model_name, name, field in self.fields:
            key = (app_label, model_name.lower())
            self._replace_field(state, key, name, field)
            touched.add(key)
        for key in sorted(touched):
            # Names only: the relations are what they were, so related models need no
            # re-render (``ProjectState.alter_field`` re-renders them for a relation field).
            state.reload_model(*key, delay=True)

    @staticmethod
    def _replace_field(state: Any, key: tuple[str, str], name: str, field: Any) -> None:
        fields = state.models[key].fields
        if state._relations is None:
            fields[name] = field
            return
        old = fields.pop(name)
        if old.is_relation:
            state.resolve_model_field_relations(key, name, old)
        fields[name] = field
        if field.is_relation:
            state.resolve_model_field_relations(key, name, field)

    def database_forwards(self, *args: Any) -> None:
        pass  # names, help texts and choices are not in the schema

    def database_backwards(self, *args: Any) -> None:
        pass

    def describe(self) -> str:
        return f"Relabel {len(self.options)} models and {len(self.fields)} fields"

    @property
    def migration_name_fragment(self) -> str:
        return "relabel"
