"""Resolves merged before the firing they end.

Two pushes of one sender may be merged in the other order than they were received: each push
is its own task, and two workers take them at once (a heartbeat's "missing" and the ping that
answers it, an Alertmanager group's firing and resolved notifications). The merge orders what
it applies by when each push was received (``Merger.at``, the console's own clock):

- an alert an event received later already changed is left alone by an older event
  (``Alert.last_seen`` is when the push of the last event merged into it was received);
- a resolved event that finds no alert is remembered here, per alert identity, with when its
  push was received: a firing of the identity received before it, merged after it, is over
  already and opens nothing (a firing received after it is a new episode and opens an alert).

Only the latest such resolve of an identity is kept, and for ``REMEMBERED_FOR``: past it, a
push received before it would have had to wait in the queue longer than that, and the table
stays a few rows (``oncall.tasks.purge_inbound_events`` drops the older ones).

Cost: one statement in a batch that holds resolves finding no alert (:func:`remember`), one in
a batch that would open a new alert (:func:`resolved_after`); none in any other batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import connection

from oncall.models import AlertSource, EarlyResolve

REMEMBERED_FOR = timedelta(hours=1)
# Identities per statement: four parameters each, within SQLite's oldest limit (999).
ROWS_PER_STATEMENT = 200

Identity = tuple[int, str]  # (channel id, alert key) of the batch's one source


def remember(source: AlertSource, at: datetime, identities: Iterable[Identity]) -> None:
    """Remember that a push of ``source`` received at ``at`` resolved ``identities``, which had
    no alert: one upsert, which keeps the later of two resolves of an identity (a batch of an
    older push may be merged after a newer one's)."""
    rows = sorted(set(identities))
    for start in range(0, len(rows), ROWS_PER_STATEMENT):
        _upsert(source, at, rows[start : start + ROWS_PER_STATEMENT])


def _upsert(source: AlertSource, at: datetime, rows: list[Identity]) -> None:
    quote = connection.ops.quote_name
    table = quote(EarlyResolve._meta.db_table)
    received = EarlyResolve._meta.get_field("received_at").get_db_prep_save(at, connection)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(rows))
    # PostgreSQL and SQLite (3.24+) share this upsert, the WHERE of its update included.
    # Identifiers come from the model and are quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {table} (channel_id, source_id, alert_key, received_at) "  # noqa: S608
        f"VALUES {values} "
        "ON CONFLICT (alert_key, source_id, channel_id) "
        "DO UPDATE SET received_at = excluded.received_at "
        f"WHERE excluded.received_at > {table}.received_at"
    )
    params = [value for channel_id, key in rows for value in (channel_id, source.pk, key, received)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def resolved_after(
    source: AlertSource, at: datetime, identities: Iterable[Identity]
) -> set[Identity]:
    """Those of ``identities`` a remembered resolve received after ``at`` ended."""
    wanted = set(identities)
    if not wanted:
        return set()
    keys = sorted({key for _, key in wanted})
    found: set[Identity] = set()
    for start in range(0, len(keys), ROWS_PER_STATEMENT):
        rows = EarlyResolve.objects.filter(
            source=source,
            channel_id__in={channel_id for channel_id, _ in wanted},
            alert_key__in=keys[start : start + ROWS_PER_STATEMENT],
            received_at__gt=at,
        ).values_list("channel_id", "alert_key")
        found.update(identity for identity in rows if identity in wanted)
    return found


def forget(now: datetime) -> int:
    """Drop the resolves remembered for longer than ``REMEMBERED_FOR``."""
    deleted, _ = EarlyResolve.objects.filter(received_at__lt=now - REMEMBERED_FOR).delete()
    return deleted


def late_note(keys: list[str]) -> str:
    """The push's note for its events that changed nothing (``Merger.outdated``): what an
    admin reading the source's recent pushes sees. English, as the push's other notes."""
    shown = ", ".join(list(dict.fromkeys(keys))[:10])
    return (
        f"{len(keys)} event(s) changed nothing: a push received after this one, about the "
        f"same alert, was merged first: {shown}"
    )
