from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def _validate_label_names(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError('Enter a list of label names, e.g. ["alertname", "cluster"].')


class Channel(models.Model):
    """A team's collaboration space: its alert sources, escalation rules and incidents."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="oncall_channels",
        help_text="People who may act on this channel's incidents.",
    )
    teams = models.ManyToManyField(
        Group,
        blank=True,
        related_name="oncall_channels",
        help_text="Every member of these groups may act on this channel's incidents too.",
    )
    group_by_labels = models.JSONField(
        default=list,
        blank=True,
        validators=[_validate_label_names],
        help_text="Alerts whose values of these labels are equal share one open incident. "
        "Empty: every alert gets an incident of its own.",
    )
    group_window_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Only group into an incident opened less than this many minutes ago. "
        "Empty: group into the open incident however old it is.",
    )
    auto_close = models.BooleanField(
        default=True,
        help_text="Close an incident by itself once every one of its alerts has recovered.",
    )
    notification_template = models.ForeignKey(
        "oncall.NotificationTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="channels",
        help_text=_("What its notifications say; empty: the built-in template."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def group_window(self) -> timedelta | None:
        if self.group_window_minutes is None:
            return None
        return timedelta(minutes=self.group_window_minutes)
