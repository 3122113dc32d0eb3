from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oncall.models.escalation import default_time_zone, validate_days, validate_time_zone
from oncall.models.pipelines import CONDITION_HELP
from oncall.models.versions import VersionedRule, VersionedRuleQuerySet, VersionOwner
from oncall.weekly import WeeklyWindow


class Silence(VersionedRule):
    """While active, new alerts of the channel that match open no incident and notify nobody
    (``oncall.noise.silences``): dropped, or kept in the alert list marked silenced."""

    class Kind(models.TextChoices):
        ONCE = "once", _("one time (from / to)")
        WEEKLY = "weekly", _("every week (days and hours)")

    class Behaviour(models.TextChoices):
        MARK = "mark", _("keep the alert, marked silenced")
        DROP = "drop", _("drop the alert")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.ForeignKey("oncall.Channel", on_delete=models.CASCADE, related_name="silences")
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.ONCE)
    starts_at = models.DateTimeField(
        null=True, blank=True, help_text=_("One time: from (empty: now).")
    )
    ends_at = models.DateTimeField(null=True, blank=True, help_text=_("One time: until."))
    weekdays = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_days],
        help_text=_("Every week: the days, 0 (Monday) to 6 (Sunday), e.g. [5, 6]."),
    )
    start_time = models.TimeField(
        null=True, blank=True, help_text=_("Every week: from this time of those days.")
    )
    end_time = models.TimeField(
        null=True,
        blank=True,
        help_text=_("Every week: until this time (earlier than the start: the next day)."),
    )
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("Every week: the days and times are in this time zone (IANA name)."),
    )
    condition = models.JSONField(default=list, blank=True, help_text=CONDITION_HELP)
    behaviour = models.CharField(max_length=8, choices=Behaviour.choices, default=Behaviour.MARK)
    # Made by "quick silence" on this incident: using it again edits this rule.
    from_incident = models.OneToOneField(
        "oncall.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quick_silence",
        editable=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    objects = VersionedRuleQuerySet.as_manager()
    # Every write gives the channel a new noise version (``oncall.models.versions``).
    version_owners = (VersionOwner("channel_id", "oncall.Channel", "noise_version"),)

    class Meta:
        ordering = ["channel", "-created_at"]
        indexes = [models.Index(fields=["channel", "enabled"], name="silence_channel")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        """A changed silence may have ended for the alerts it keeps: they are re-examined
        now, in the change's transaction (their holds come due)."""
        super().save(*args, **kwargs)
        SilenceHold.objects.filter(silence=self).update(recheck_at=timezone.now())

    def weekly_window(self) -> WeeklyWindow:
        """Its days and hours (``kind`` weekly), as escalation rules' windows are read."""
        return WeeklyWindow.of(self.weekdays, self.start_time, self.end_time, self.time_zone)

    def clean(self) -> None:
        from oncall.noise.silences import check_silence

        errors = check_silence(self)
        if errors:
            raise ValidationError(errors)


class SilenceHold(models.Model):
    """A firing alert a silence keeps (marked silenced, no incident), and when to look at it
    again: when its silence ends, the sweep opens its incident if it still fires and no other
    silence holds it (``oncall.noise.silences.release_due``). In the database, so that a lost
    task never leaves an alert silenced for good."""

    alert = models.OneToOneField(
        "oncall.Alert", on_delete=models.CASCADE, related_name="silence_hold"
    )
    # Empty once the silence is deleted: due at once.
    silence = models.ForeignKey(Silence, null=True, on_delete=models.SET_NULL, related_name="holds")
    recheck_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"alert {self.alert_id} until {self.recheck_at:%Y-%m-%d %H:%M}"


class MaintenanceWindow(models.Model):
    """Planned work on a channel or an alert source: from start to end nothing notifies;
    incidents still open, marked "in maintenance" (``oncall.noise.maintenance``)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    channel = models.ForeignKey(
        "oncall.Channel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        help_text=_("The whole channel; or leave empty and choose a source."),
    )
    source = models.ForeignKey(
        "oncall.AlertSource",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        help_text=_("Incidents its alerts open, whichever channel they go to."),
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["ends_at", "starts_at"], name="maintenance_period")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__isnull=False, source__isnull=True)
                | models.Q(channel__isnull=True, source__isnull=False),
                name="maintenance_channel_or_source",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if (self.channel_id is None) == (self.source_id is None):
            errors["channel"] = _("Choose a channel or an alert source (one of them).")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("The end must be after the start.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.starts_at <= now < self.ends_at
