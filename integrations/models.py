"""Models of the integrations app: the Feishu app integration (defined in its package) and the
database rate limiter's counters."""

from __future__ import annotations

from django.db import models

from integrations.feishu.models import CallbackReceipt, FeishuApp, FeishuChat, Platform

__all__ = ["CallbackReceipt", "FeishuApp", "FeishuChat", "Platform", "RateWindow"]


class RateWindow(models.Model):
    """One fixed window of one rate limit, used by ``ratelimit.DatabaseLimiter``.

    ``key`` is the limit's key plus its period (one row per limit, reused window after window);
    times are milliseconds since the epoch so that every database compares them the same way.
    """

    key = models.CharField(max_length=255, unique=True)
    window_start_ms = models.BigIntegerField()
    window_end_ms = models.BigIntegerField(db_index=True)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "rate-limit window"

    def __str__(self) -> str:
        return f"{self.key}: {self.count}"
