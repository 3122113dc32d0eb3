"""A query that survives a database connection lost between requests, without Django's
per-request health check.

With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before a request's first query whenever
it reuses a connection, so that a connection the server closed meanwhile (a restart, a
failover, an idle timeout in a proxy) is replaced before the request uses it. On the push URL
that round trip was about a quarter of a one-alert push. ``once_more_if_connection_lost`` keeps
the guarantee another way: the query runs at once, and only if it failed because the
connection is gone is it run once more, on a fresh connection.

Only for queries that may run twice: a read, or a write that the second attempt makes
idempotent (the stored push is found by the request id it was inserted with). Only outside a
transaction: a transaction's work is lost with its connection and cannot go on on another one.
Only for a lost connection: an error on a connection that still answers (a statement timeout,
a lock timeout, a constraint) is the statement's and is raised as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

logger = logging.getLogger(__name__)

T = TypeVar("T")


def once_more_if_connection_lost(
    query: Callable[[], T],
    again: Callable[[], T] | None = None,
    *,
    using: str = DEFAULT_DB_ALIAS,
) -> T:
    """``query()``, without a health check first; if the connection turns out to be lost, the
    connection is replaced and ``again()`` (``query()`` unless given) runs on the new one.
    Inside a transaction, just ``query()``."""
    database = connections[using]
    if database.in_atomic_block:
        return query()
    # This query is the check: a health check before it would only repeat it.
    database.health_check_done = True
    try:
        return query()
    except (OperationalError, InterfaceError):
        if not _lost(database):
            raise
        logger.info("The database connection was lost: reconnecting and trying once more.")
        database.close()
        return (again or query)()


def _lost(database) -> bool:
    """Whether the connection is gone (as opposed to a failed statement on a live one). Costs a
    ``SELECT 1`` only after a failure; SQLite's connections are always usable."""
    return database.connection is None or not database.is_usable()
