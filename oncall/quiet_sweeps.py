"""Celery's routine lines about the periodic sweeps, at DEBUG.

Every few seconds beat sends each sweep ("Scheduler: Sending due task ..."), a worker receives
it ("Task ... received") and finishes it ("Task ... succeeded in ..."): on the embedded default
that is a screenful a minute, and the lines that matter (the admin's sign-in, a sweep that
repaired something: those log their own warning) scroll away. This filter, on those three
Celery loggers (``LOGGING``), turns the lines about a task of the beat schedule into DEBUG
lines: shown when the level is DEBUG (``LOG_LEVEL``, or the worker's ``--loglevel``), or at
INFO as before with ``LOG_SWEEPS=true``. Other tasks' lines are left as they are.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings


class QuietSweeps(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or settings.LOG_SWEEPS:
            return True
        if task_name(record) not in periodic_task_names():
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


def task_name(record: logging.LogRecord) -> str | None:
    """The task a Celery record is about: its context's ``name`` (received, succeeded), or the
    second argument of beat's ``Sending due task %s (%s)``."""
    args = record.args
    if isinstance(args, Mapping):
        name = args.get("name")
        return name if isinstance(name, str) else None
    if isinstance(args, tuple) and len(args) == 2 and isinstance(args[1], str):
        return args[1]
    return None


def periodic_task_names() -> set[str]:
    from oncall.celery import app  # the schedule is set once Celery has read the settings

    return {entry["task"] for entry in app.conf.beat_schedule.values()}
