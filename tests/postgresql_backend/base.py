"""Django's PostgreSQL backend, emptying tables with ``DELETE`` where Django would ``TRUNCATE``.

Every transactional test (live servers, real Celery workers, row-lock races) ends with Django's
``flush`` of every table. On PostgreSQL that is one ``TRUNCATE`` of all of them, which gives each
table new files and syncs them to disk: 1.5 to 2.5 s for the console's 112 tables, where deleting
their few test rows takes 16 to 56 ms. It was most of the PostgreSQL run's time.

Deleting in any order is safe because Django declares its foreign keys ``DEFERRABLE INITIALLY
DEFERRED`` and the flush runs in one transaction: the keys are checked at commit, when every
table is empty. The flushes Django asks for with more than that (sequences reset, or a cascade to
tables outside the flushed apps) keep ``TRUNCATE``.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, operations


class DatabaseOperations(operations.DatabaseOperations):
    def sql_flush(
        self,
        style: Any,
        tables: list[str],
        *,
        reset_sequences: bool = False,
        allow_cascade: bool = False,
    ) -> list[str]:
        if reset_sequences or allow_cascade or not tables:
            return super().sql_flush(
                style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
            )
        deletes = [
            f"{style.SQL_KEYWORD('DELETE FROM')} {style.SQL_FIELD(self.quote_name(table))};"
            for table in tables
        ]
        return [f"{style.SQL_KEYWORD('SET CONSTRAINTS ALL DEFERRED')};", *deletes]


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
