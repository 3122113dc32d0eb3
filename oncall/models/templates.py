from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def _validate_bodies(value: object) -> None:
    if not isinstance(value, dict) or not all(
        isinstance(key, str) and isinstance(body, str) for key, body in value.items()
    ):
        raise ValidationError(
            _('Enter an object of medium → template text, e.g. {"feishu_card": "..."}.')
        )


class NotificationTemplate(models.Model):
    """What an incident's notifications say, one Jinja body per medium (``oncall.notify``).
    A medium without a body uses the built-in default. A channel chooses its template; an
    escalation rule may override it."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    bodies = models.JSONField(
        _("bodies"),
        default=dict,
        blank=True,
        validators=[_validate_bodies],
        help_text=_("One template per medium; a medium left out uses the built-in default."),
    )
    # The last time rendering failed at send time (the built-in default was sent instead).
    last_error = models.TextField(blank=True, editable=False, verbose_name=_("last error"))
    last_error_at = models.DateTimeField(
        null=True, blank=True, editable=False, verbose_name=_("last error at")
    )
    last_error_incident = models.ForeignKey(
        "oncall.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("last error incident"),
    )
    error_count = models.PositiveIntegerField(
        default=0, editable=False, verbose_name=_("error count")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("notification template")
        verbose_name_plural = _("notification templates")

    def __str__(self) -> str:
        return self.name
