from __future__ import annotations

import uuid

from django.db import models

from oncall.change_events import ChangeStatus


class ChangeEvent(models.Model):
    """One change (a deployment, a configuration change, a change ticket) in one channel, as its
    source last described it. Repeat events with the same key update this row
    (``oncall.changes.accept``); a change never opens an incident, it is shown next to them."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.ForeignKey("oncall.Channel", on_delete=models.CASCADE, related_name="changes")
    source = models.ForeignKey(
        "oncall.AlertSource", on_delete=models.CASCADE, related_name="changes"
    )
    change_key = models.CharField(max_length=255)
    title = models.CharField(max_length=512)
    description = models.TextField(blank=True)
    link = models.URLField(max_length=2048, blank=True)
    labels = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ChangeStatus.choices)
    # The sender's event times: the change's first and latest events. A change counts as
    # "before an incident" when it began before the incident opened and was last seen within
    # the look-back window (``oncall.changes.changes_before``).
    started_at = models.DateTimeField()
    changed_at = models.DateTimeField(db_index=True)
    event_count = models.PositiveIntegerField(default=1)
    received_at = models.DateTimeField()
    updated_at = models.DateTimeField()

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

    def __str__(self) -> str:
        return f"{self.change_key}: {self.title}"
