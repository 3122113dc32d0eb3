"""Secret calendar feed URLs: one per schedule and one per person.

The token is part of a URL people paste into Google, Outlook or Feishu calendars, and they
come back for it (a second device, a colleague subscribing to the team's schedule): so it is
kept readable, encrypted at rest (``oncall.crypto``), like an alert source's push token, and
looked up by its SHA-256 (an index, so no comparison of secrets that could leak by timing; a
random 256-bit token needs no slower hash). Rotating replaces both: the old URL is unknown
from that moment.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oncall.crypto import EncryptedTextField
from oncall.models.schedules import Schedule

FEED_TOKEN_BYTES = 32


def new_feed_token() -> str:
    return secrets.token_urlsafe(FEED_TOKEN_BYTES)


def hash_feed_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class CalendarFeed(models.Model):
    """The secret URL of a schedule's calendar (``schedule`` set) or a person's (``user``)."""

    schedule = models.OneToOneField(
        Schedule,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
        verbose_name=_("schedule"),
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="calendar_feed",
        verbose_name=_("user"),
    )
    token = EncryptedTextField(default=new_feed_token, editable=False, verbose_name=_("token"))
    token_hash = models.CharField(
        max_length=64, unique=True, editable=False, verbose_name=_("token hash")
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    rotated_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("rotated at")
    )

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(schedule__isnull=True) ^ models.Q(user__isnull=True),
                name="calendar_feed_of_schedule_or_person",
            )
        ]

    def __str__(self) -> str:
        return f"calendar of {self.schedule or self.user}"

    def save(self, *args, **kwargs) -> None:
        self.token_hash = hash_feed_token(self.token)
        super().save(*args, **kwargs)

    @property
    def url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}/calendars/{self.token}.ics"

    def rotate(self) -> None:
        """A new URL; the old one stops working at once."""
        self.token = new_feed_token()
        self.rotated_at = timezone.now()
        self.save(update_fields=["token", "token_hash", "rotated_at"])
