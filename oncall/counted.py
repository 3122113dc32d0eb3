"""A per-console answer counted from the database once and kept in the shared cache.

Every escalation step, card refresh and incident page asks each platform questions such as "is
any app of yours in use?", and the outbox asks "does any webhook endpoint listen?" on every
change; most consoles answer "no" to most of them: counting that on every ask would cost a query
each time for nothing. The database stays the truth: a missing
entry is counted again from it, and every save or delete of the counted model (``changed``,
connected by ``connect``) drops the entry, at once (this transaction's next read counts its own
change) and again once its transaction commits (another process may have counted meanwhile
without it); after a rollback the next read counts afresh too.
"""

from __future__ import annotations

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
        """The kept answer; a query only when it is not counted yet."""
        known = cache.get(self.key)
        return self.count_again() if known is None else known

    def count_again(self) -> T:
        """Count again from the database, and keep the answer."""
        value = self._count()
        cache.set(self.key, value, timeout=None)
        return value

    def forget(self) -> None:
        cache.delete(self.key)

    def changed(self, sender: Any, **kwargs: Any) -> None:
        """``post_save`` / ``post_delete`` of the counted model: forget now and on commit."""
        self.forget()
        transaction.on_commit(self.forget, robust=True)

    def connect(self, model: type[models.Model], dispatch_uid: str) -> None:
        """Forget on every save and delete of ``model`` (from an ``AppConfig.ready``)."""
        for signal, name in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(self.changed, sender=model, dispatch_uid=f"{dispatch_uid}-{name}")
