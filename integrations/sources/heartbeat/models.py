"""A heartbeat's state: its last ping and whether the console has said it is missing.

In the database, not a cache (the console's rule: correctness state lives in the database): a
restarted worker or a cleared cache must neither forget a heartbeat that went silent nor raise
a second incident for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """One heartbeat source's state; made by its first ping."""

    class State(models.TextChoices):
        NEW = "new", _("waiting for the first ping")
        UP = "up", _("up")
        LATE = "late", _("late (within its grace)")
        MISSING = "missing", _("missing")

    source = models.OneToOneField(
        "oncall.AlertSource",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="heartbeat",
        verbose_name=_("source"),
    )
    last_ping_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last ping at"))
    pings = models.PositiveBigIntegerField(default=0, verbose_name=_("pings"))
    # Set when the sweep opened the incident (the moment the ping was due), cleared by the next
    # ping, which recovers it: while set, the sweep leaves the heartbeat alone.
    missing_since = models.DateTimeField(null=True, blank=True, verbose_name=_("missing since"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return str(self.source)

    def due_at(self, interval: timedelta, grace: timedelta) -> datetime | None:
        """When the heartbeat is missing if no ping arrives before: its last ping, plus the
        interval and the grace. ``None`` before the first ping."""
        return self.last_ping_at + interval + grace if self.last_ping_at else None

    def state(self, now: datetime, interval: timedelta, grace: timedelta) -> Heartbeat.State:
        if self.missing_since:
            return self.State.MISSING
        if not self.last_ping_at:
            return self.State.NEW
        if now <= self.last_ping_at + interval:
            return self.State.UP
        # Past due and not yet swept: as good as missing, the next sweep will say so.
        return self.State.LATE if now < self.last_ping_at + interval + grace else self.State.MISSING
