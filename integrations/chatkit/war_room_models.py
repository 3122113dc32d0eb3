"""The fields every platform's war-room model has (``chatkit.war_rooms`` reads and writes them):
an abstract base, so that each platform's table stays its own. A platform adds ``incident`` and
``app`` (with its related names), its group foreign key and its own columns, and a unique
constraint on (incident, app)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WarRoomBase(models.Model):
    """An incident's group chat on a platform, one per incident and app. The row is written in
    the transaction that asks for the room, under the unique constraint and a row lock, so a
    second request (or two at once) finds the first one's room; a task creates the group with
    the platform's ``uuid`` derived from the row (``create_uuid``), so a task run twice, or
    handed out again by the sweep, creates one group."""

    class State(models.TextChoices):
        OPENING = "opening", pgettext_lazy("war room", "opening")
        OPEN = "open", pgettext_lazy("war room", "open")
        FAILED = "failed", pgettext_lazy("war room", "failed")

    state = models.CharField(
        max_length=16, choices=State.choices, default=State.OPENING, verbose_name=_("state")
    )
    name = models.CharField(max_length=255, blank=True, verbose_name=_("name"))
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("requested by"),
    )
    # Where the request came from (an ``ActionSource`` value, or the platform's name).
    requested_via = models.CharField(max_length=32, blank=True, verbose_name=_("requested via"))
    # People chosen when asking for the room, besides those the escalation notified.
    chosen_people = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("chosen people")
    )
    # Console users invited so far, so that a later level invites only newcomers.
    invited_people = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("invited people")
    )
    # Bumped by each new attempt after a failure: the uuid dedupes one attempt's retries.
    attempt = models.PositiveIntegerField(default=1, verbose_name=_("attempt"))
    last_error = models.TextField(blank=True, verbose_name=_("last error"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(default=timezone.now, verbose_name=_("updated at"))
    opened_at = models.DateTimeField(null=True, blank=True, verbose_name=_("opened at"))

    class Meta:
        abstract = True
        ordering = ["-created_at", "id"]

    def __str__(self) -> str:
        return self.name or f"#{self.incident_id}"

    @property
    def create_uuid(self) -> str:
        """The platform's ``uuid`` for creating the group: one group per value (Feishu: per
        value in 10 h, at most 50 characters)."""
        return f"oncall-war-room-{self.pk}-{self.attempt}"
