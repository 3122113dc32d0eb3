from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.change_events import ChangeStatus


class ChangeEvent(models.Model):
    """One change (a deployment, a configuration change, a change ticket) in one channel, as its
    source last described it. Repeat events with the same key update this row
    (``oncall.changes.accept``); a change never opens an incident, it is shown next to them."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    channel = models.ForeignKey(
        "oncall.Channel",
        on_delete=models.CASCADE,
        related_name="changes",
        verbose_name=_("channel"),
    )
    source = models.ForeignKey(
        "oncall.AlertSource",
        on_delete=models.CASCADE,
        related_name="changes",
        verbose_name=_("source"),
    )
    change_key = models.CharField(max_length=255, verbose_name=_("change key"))
    title = models.CharField(max_length=512, verbose_name=_("title"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    link = models.URLField(max_length=2048, blank=True, verbose_name=_("link"))
    labels = models.JSONField(default=dict, blank=True, verbose_name=_("labels"))
    status = models.CharField(max_length=16, choices=ChangeStatus.choices, verbose_name=_("status"))
    # The sender's event times: the change's first and latest events. A change counts as
    # "before an incident" when it began before the incident opened and was last seen within
    # the look-back window (``oncall.changes.changes_before``).
    started_at = models.DateTimeField(verbose_name=_("started at"))
    changed_at = models.DateTimeField(db_index=True, verbose_name=_("changed at"))
    event_count = models.PositiveIntegerField(default=1, verbose_name=_("event count"))
    received_at = models.DateTimeField(verbose_name=_("received at"))
    updated_at = models.DateTimeField(verbose_name=_("updated at"))

    class Meta:
        ordering = ["-changed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "channel", "change_key"], name="one_change_per_key"
            ),
        ]
        indexes = [
            models.Index(fields=["channel", "-changed_at"], name="change_channel_changed"),
        ]
        verbose_name = _("change event")
        verbose_name_plural = _("change events")

    def __str__(self) -> str:
        return f"{self.change_key}: {self.title}"
