"""Flapping state of an alert identity (``oncall.noise.flapping``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class FlapState(models.Model):
    """When one alert identity (channel, source, alert key) last started firing: the times
    within its channel's flapping window, oldest first. Written only when the identity starts
    firing (a new alert or one firing again) in a channel that watches for flapping, under the
    identity's ingestion lock; rows not written for a day are purged."""

    channel = models.ForeignKey(
        "oncall.Channel", on_delete=models.CASCADE, related_name="+", verbose_name=_("channel")
    )
    source_id = models.BigIntegerField(null=True, verbose_name=_("source id"))
    alert_key = models.CharField(max_length=255, verbose_name=_("alert key"))
    triggers = models.JSONField(default=list, verbose_name=_("triggers"))
    updated_at = models.DateTimeField(db_index=True, verbose_name=_("updated at"))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert_key", "source_id", "channel"], name="flap_state_identity"
            )
        ]
        verbose_name = _("flap state")
        verbose_name_plural = _("flap states")

    def __str__(self) -> str:
        return f"{self.alert_key}: {len(self.triggers)} triggers"
