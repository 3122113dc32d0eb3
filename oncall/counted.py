"""A per-console answer counted from the database once and kept in the shared cache.

Every escalation step, card refresh and incident page asks each platform questions such as "is
any app of yours in use?", and the outbox asks "does any webhook endpoint listen?" on every
change; most consoles answer "no" to most of them: counting that on every ask would cost a query
each time for nothing. The database stays the truth: a missing
entry is counted again from it, and every save or delete of the counted model (``changed``,
connected by ``connect``) drops the entry, at once (this transaction's next read counts its own
change) and again once its transaction commits (another process may have counted meanwhile
without it); after a rollback the next read counts afresh too.

Within one unit of work (a web request, a Celery task: ``begin_unit`` / ``end_unit``, connected
to their signals by ``connect_units``) an answer is asked of the cache once: a merge asks
"does any webhook endpoint listen?" for every incident it changes, and each ask was a round
trip to Redis. The unit sees the answers as of its first ask, as if it had asked everything
then; its own changes still drop them at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save

T = TypeVar("T")


class CountedInCache(Generic[T]):
    """``count()``'s answer under ``key`` in the shared cache, until the counted model changes.

    ``count`` must return a value the cache can store and that is never None (None is what
    a missing entry reads as)."""

    def __init__(self, key: str, count: Callable[[], T]):
        self.key = key
        self._count = count

    def get(self) -> T:
        """The kept answer; a query only when it is not counted yet, and within a unit of work
        no round trip after the first."""
        answers = _unit_answers()
        if answers is not None and self.key in answers:
            return answers[self.key]
        known = cache.get(self.key)
        if known is None:
            return self.count_again()
        if answers is not None:
            answers[self.key] = known
        return known

    def count_again(self) -> T:
        """Count again from the database, and keep the answer."""
        value = self._count()
        cache.set(self.key, value, timeout=None)
        answers = _unit_answers()
        if answers is not None:
            answers[self.key] = value
        return value

    def forget(self) -> None:
        cache.delete(self.key)
        answers = _unit_answers()
        if answers is not None:
            answers.pop(self.key, None)

    def changed(self, sender: Any, **kwargs: Any) -> None:
        """``post_save`` / ``post_delete`` of the counted model: forget now and on commit."""
        self.forget()
        transaction.on_commit(self.forget, robust=True)

    def connect(self, model: type[models.Model], dispatch_uid: str) -> None:
        """Forget on every save and delete of ``model`` (from an ``AppConfig.ready``)."""
        for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(self.changed, sender=model, dispatch_uid=f"{dispatch_uid}-{name}")


# --- Units of work -------------------------------------------------------------------------------

_unit = threading.local()


def _unit_answers() -> dict[str, Any] | None:
    return getattr(_unit, "answers", None)


def begin_unit(**_: Any) -> None:
    """A task begins: answers asked from now on are kept until it ends. A task run inline by
    a request or another task is part of that unit."""
    _unit.depth = getattr(_unit, "depth", 0) + 1
    if _unit.depth == 1:
        _unit.answers = {}


def end_unit(**_: Any) -> None:
    _unit.depth = max(getattr(_unit, "depth", 0) - 1, 0)
    if _unit.depth == 0:
        _unit.answers = None


def begin_request(**_: Any) -> None:
    """A request begins: always a unit of its own, whatever an earlier request of this thread
    left (a streamed response never read to its end sends no ``request_finished``)."""
    _unit.depth, _unit.answers = 1, {}


def end_request(**_: Any) -> None:
    _unit.depth, _unit.answers = 0, None


def connect_units() -> None:
    """Make every web request and every Celery task a unit of work (``AppConfig.ready``)."""
    from celery.signals import task_postrun, task_prerun
    from django.core.signals import request_finished, request_started

    request_started.connect(begin_request, dispatch_uid="oncall-counted-request-started")
    request_finished.connect(end_request, dispatch_uid="oncall-counted-request-finished")
    task_prerun.connect(begin_unit, dispatch_uid="oncall-counted-task-prerun", weak=False)
    task_postrun.connect(end_unit, dispatch_uid="oncall-counted-task-postrun", weak=False)
