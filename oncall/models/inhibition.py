"""Inhibition rules (``oncall.noise.inhibition``): a new alert is inhibited while a related,
more important problem is already open."""

from __future__ import annotations

import uuid

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.models.versions import VersionedRule, VersionedRuleQuerySet, VersionOwner
from oncall.noise.conditions import parse_condition, validate_condition, validate_keys


class InhibitRule(VersionedRule):
    """When a new alert matches ``new_alert_condition`` and a firing alert of an open incident
    of the same channel (or source) matches ``active_condition``, was seen within
    ``window_minutes`` and has the same values for every key of ``equal``, the new alert is
    inhibited: dropped, or kept and marked (it opens no incident and notifies nobody) with the
    inhibiting incident linked."""

    class Action(models.TextChoices):
        MARK = "mark", _("keep and mark as inhibited")
        DROP = "drop", _("drop")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    channel = models.ForeignKey(
        "oncall.Channel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="inhibit_rules",
        help_text=_("Alerts of this channel. Give a channel or a source, not both."),
        verbose_name=_("channel"),
    )
    source = models.ForeignKey(
        "oncall.AlertSource",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="inhibit_rules",
        help_text=_("Alerts of this alert source, in whichever channel."),
        verbose_name=_("source"),
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    new_alert_condition = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_condition],
        help_text=_(
            "Which new alerts may be inhibited, e.g. "
            '[{"key": "severity", "op": "re", "value": "warning|info"}]. '
            "A list of matchers (all must hold) or of lists (one list must hold). Empty: any."
        ),
        verbose_name=_("new alert condition"),
    )
    active_condition = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_condition],
        help_text=_(
            "Which alerts of open incidents inhibit them, e.g. "
            '[{"key": "severity", "op": "eq", "value": "critical"}]. Empty: any.'
        ),
        verbose_name=_("active condition"),
    )
    equal = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_keys],
        help_text=_(
            'Keys whose values must be equal in both alerts, e.g. ["labels.host", '
            '"labels.alertname"]; a key missing from both counts as equal.'
        ),
        verbose_name=_("equal"),
    )
    window_minutes = models.PositiveSmallIntegerField(
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text=_("Only an alert whose last event came less than this many minutes ago."),
        verbose_name=_("window minutes"),
    )
    action = models.CharField(
        max_length=8, choices=Action.choices, default=Action.MARK, verbose_name=_("action")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    objects = VersionedRuleQuerySet.as_manager()
    # Every write gives its channel or source a new noise version (``oncall.models.versions``).
    version_owners = (
        VersionOwner("channel_id", "oncall.Channel", "noise_version"),
        VersionOwner("source_id", "oncall.AlertSource", "noise_version"),
    )

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__isnull=False, source__isnull=True)
                | models.Q(channel__isnull=True, source__isnull=False),
                name="inhibit_rule_channel_or_source",
            )
        ]
        verbose_name = _("inhibit rule")
        verbose_name_plural = _("inhibit rules")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if (self.channel_id is None) == (self.source_id is None):
            raise ValidationError(_("Give the rule a channel or an alert source (one of them)."))
        # A rule nothing can inhibit by is a mistake, not a rule that inhibits everything.
        if not parse_condition(self.new_alert_condition).groups and not self.equal:
            raise ValidationError(
                {"equal": _("Give a new-alert condition or keys to compare (or both).")}
            )
