"""Writing many rows' changes in one round trip."""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


def update_rows(model: type[Model], rows: list[Model], fields: list[str]) -> None:
    """UPDATE each row's ``fields`` with one ``executemany`` (pipelined by psycopg).

    ``QuerySet.bulk_update`` builds a CASE expression per field and row, which costs more
    Python time than the whole rest of a batch; this sends the same values, prepared by the
    fields themselves, as plain parameterised statements."""
    concrete = [model._meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in concrete)
    # Identifiers come from the model and are quoted; every value is a parameter.
    sql = f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {quote('id')} = %s"  # noqa: S608
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in concrete] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
