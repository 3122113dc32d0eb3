"""Shift swaps: a participant of a schedule asks to give away (part of) one of their shifts,
someone else takes it, and taking puts the taker in with an override that says who agreed.

The rules (who may ask, who may take, what is refused) are ``oncall.schedules.swaps``; this is
the record, which stays after the swap as the history of who agreed to what.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from oncall.models.schedules import Schedule, ScheduleOverride

SWAP_NOTE_MAX_CHARS = 200


class ShiftSwap(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("shift swap", "open")
        TAKEN = "taken", pgettext_lazy("shift swap", "taken")
        CANCELLED = "cancelled", pgettext_lazy("shift swap", "cancelled")
        EXPIRED = "expired", pgettext_lazy("shift swap", "expired")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="swaps", verbose_name=_("schedule")
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="shift_swaps_asked",
        verbose_name=pgettext_lazy("shift swap", "asked by"),
    )
    start = models.DateTimeField(pgettext_lazy("shift swap", "start"))
    end = models.DateTimeField(pgettext_lazy("shift swap", "end"))
    note = models.CharField(
        pgettext_lazy("shift swap", "note"), max_length=SWAP_NOTE_MAX_CHARS, blank=True
    )
    status = models.CharField(
        pgettext_lazy("shift swap", "status"),
        max_length=10,
        choices=Status.choices,
        default=Status.OPEN,
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="shift_swaps_taken",
        verbose_name=pgettext_lazy("shift swap", "taken by"),
    )
    taken_at = models.DateTimeField(pgettext_lazy("shift swap", "taken at"), null=True, blank=True)
    # The override the swap made; kept (SET_NULL) if an admin deletes the override later, so
    # the history of who agreed stays.
    override = models.OneToOneField(
        ScheduleOverride,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="swap",
        verbose_name=pgettext_lazy("shift swap", "override"),
    )
    created_at = models.DateTimeField(
        pgettext_lazy("shift swap", "asked at"), default=timezone.now, editable=False
    )
    closed_at = models.DateTimeField(
        pgettext_lazy("shift swap", "closed at"), null=True, blank=True
    )

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("shift swap")
        verbose_name_plural = _("shift swaps")
        indexes = [models.Index(fields=["status", "start"], name="swap_status_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="swap_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.schedule}: {self.requester} {self.start:%Y-%m-%d %H:%M}"
