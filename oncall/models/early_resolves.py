"""A resolve merged before the firing it ends (``oncall.early_resolves``)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class EarlyResolve(models.Model):
    """The latest resolved event of one alert identity (channel, source, alert key) that found
    no alert to resolve, with when its push was received: a firing of the identity received
    before it, merged after it (two pushes merged by two workers in the other order), ended
    already and opens nothing. Written in bulk at the end of a batch, under the identity's
    ingestion lock; rows older than ``oncall.early_resolves.REMEMBERED_FOR`` are purged."""

    channel = models.ForeignKey(
        "oncall.Channel", on_delete=models.CASCADE, related_name="+", verbose_name=_("channel")
    )
    source = models.ForeignKey(
        "oncall.AlertSource", on_delete=models.CASCADE, related_name="+", verbose_name=_("source")
    )
    alert_key = models.CharField(max_length=255, verbose_name=_("alert key"))
    received_at = models.DateTimeField(verbose_name=_("received at"))

    class Meta:
        constraints = [
            # alert_key first, as the alerts' identity index: a batch looks up many keys of
            # one source at once.
            models.UniqueConstraint(
                fields=["alert_key", "source", "channel"], name="early_resolve_identity"
            )
        ]
        verbose_name = _("early resolve")
        verbose_name_plural = _("early resolves")

    def __str__(self) -> str:
        return f"{self.alert_key} resolved at {self.received_at:%Y-%m-%d %H:%M:%S}"
