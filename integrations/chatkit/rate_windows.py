"""The rows ``ratelimit.DatabaseLimiter`` counts in: a platform's models module declares one
concrete model on this abstract one (its own table, in its own migrations), and passes it to
``ratelimit.default_limiter`` / ``DatabaseLimiter``.

Kept apart from ``ratelimit`` because declaring a model needs the app registry: the clients
import ``ratelimit`` early, only a models module imports this.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AbstractRateWindow(models.Model):
    """One rate limit's sliding window, or one place in it, for ``ratelimit.DatabaseLimiter``.

    ``key`` is the limit's key plus its period (the limit's row: ``count`` is its ring's next
    place), or that plus ``#<place>`` (``window_start_ms``: when the call in that place was
    admitted). Times are milliseconds since the epoch so that every database compares them the
    same way; ``window_end_ms`` is when the row stops mattering.
    """

    key = models.CharField(max_length=255, unique=True, verbose_name=_("key"))
    window_start_ms = models.BigIntegerField(verbose_name=_("window start ms"))
    window_end_ms = models.BigIntegerField(db_index=True, verbose_name=_("window end ms"))
    count = models.PositiveIntegerField(default=0, verbose_name=_("count"))

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
