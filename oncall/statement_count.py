"""Counts the SQL statements each process runs, for the benchmarks (``STATEMENT_COUNT_DIR``).

Off unless the setting names a folder: nothing is installed then. When on, every database
connection of the process gets an execute wrapper that adds one per statement run through a
Django cursor (an ``executemany`` is one): queries, writes, savepoints. What the driver sends
by itself is not seen: a transaction's BEGIN and COMMIT, and Django's connection health check.
It keeps the process's running total in a file of its own in that folder, named by its pid:
8 bytes, little-endian, written in place through a shared memory map, so that a statement costs
no system call. A benchmark sums the files before and after a phase (``read_total``), while the
processes run; a process that ended (a recycled worker) leaves its last total behind, so the
sums only grow. A forked child (gunicorn's and Celery's workers) starts a file of its own from
zero.
"""

from __future__ import annotations

import mmap
import os
import struct
import threading
from pathlib import Path
from typing import Any

TOTAL = struct.Struct("<Q")


class StatementCounter:
    """A Django execute wrapper (``connection.execute_wrappers``) counting statements into
    ``directory/<pid>``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        # A child must not inherit the parent's total, file or (possibly held) lock.
        self._lock = threading.Lock()
        self._total = 0
        self._map: mmap.mmap | None = None

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: dict) -> Any:
        self.add(1)
        return execute(sql, params, many, context)

    def add(self, statements: int) -> None:
        with self._lock:
            if self._map is None:
                self._map = self._open()
            self._total += statements
            TOTAL.pack_into(self._map, 0, self._total)

    def _open(self) -> mmap.mmap:
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / str(os.getpid())).open("w+b") as file:
            file.write(bytes(TOTAL.size))
            file.flush()
            return mmap.mmap(file.fileno(), TOTAL.size)  # the map outlives the file object


def read_total(directory: Path) -> int:
    """The statements counted so far by every process that counted into ``directory``."""
    if not directory.is_dir():
        return 0
    totals = (path.read_bytes() for path in directory.iterdir())
    # A file shorter than a total is one being created this instant: nothing counted yet.
    return sum(TOTAL.unpack(data[: TOTAL.size])[0] for data in totals if len(data) >= TOTAL.size)


_counters: dict[Path, StatementCounter] = {}


def count_statements(sender: Any, connection: Any, **kwargs: Any) -> None:
    """``connection_created`` receiver: count this connection's statements (once per
    connection object: Django reuses it across reconnects)."""
    from django.conf import settings

    directory = Path(settings.STATEMENT_COUNT_DIR)
    if directory not in _counters:
        _counters[directory] = StatementCounter(directory)
    counter = _counters[directory]
    if counter not in connection.execute_wrappers:
        connection.execute_wrappers.append(counter)
