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

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    channel = models.ForeignKey(
        "oncall.Channel",
        on_delete=models.CASCADE,
        related_name="silences",
        verbose_name=_("channel"),
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    kind = models.CharField(
        max_length=8, choices=Kind.choices, default=Kind.ONCE, verbose_name=_("kind")
    )
    starts_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("One time: from (empty: now)."),
        verbose_name=_("starts at"),
    )
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text=_("One time: until."), verbose_name=_("ends at")
    )
    weekdays = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_days],
        help_text=_("Every week: the days, 0 (Monday) to 6 (Sunday), e.g. [5, 6]."),
        verbose_name=_("weekdays"),
    )
    start_time = models.TimeField(
        null=True,
        blank=True,
        help_text=_("Every week: from this time of those days."),
        verbose_name=_("start time"),
    )
    end_time = models.TimeField(
        null=True,
        blank=True,
        help_text=_("Every week: until this time (earlier than the start: the next day)."),
        verbose_name=_("end time"),
    )
    time_zone = models.CharField(
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("Every week: the days and times are in this time zone (IANA name)."),
        verbose_name=_("time zone"),
    )
    condition = models.JSONField(
        default=list, blank=True, help_text=CONDITION_HELP, verbose_name=_("condition")
    )
    behaviour = models.CharField(
        max_length=8, choices=Behaviour.choices, default=Behaviour.MARK, verbose_name=_("behaviour")
    )
    # Made by "quick silence" on this incident: using it again edits this rule.
    from_incident = models.OneToOneField(
        "oncall.Incident",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="quick_silence",
        editable=False,
        verbose_name=_("from incident"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    objects = VersionedRuleQuerySet.as_manager()
    # Every write gives the channel a new noise version (``oncall.models.versions``).
    version_owners = (VersionOwner("channel_id", "oncall.Channel", "noise_version"),)

    class Meta:
        ordering = ["channel", "-created_at"]
        indexes = [models.Index(fields=["channel", "enabled"], name="silence_channel")]
        verbose_name = _("silence")
        verbose_name_plural = _("silences")

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
        "oncall.Alert",
        on_delete=models.CASCADE,
        related_name="silence_hold",
        verbose_name=_("alert"),
    )
    # Empty once the silence is deleted: due at once.
    silence = models.ForeignKey(
        Silence,
        null=True,
        on_delete=models.SET_NULL,
        related_name="holds",
        verbose_name=_("silence"),
    )
    recheck_at = models.DateTimeField(db_index=True, verbose_name=_("recheck at"))

    class Meta:
        verbose_name = _("silence hold")
        verbose_name_plural = _("silence holds")

    def __str__(self) -> str:
        return f"alert {self.alert_id} until {self.recheck_at:%Y-%m-%d %H:%M}"


class MaintenanceWindow(models.Model):
    """Planned work on a channel or an alert source: from start to end nothing notifies;
    incidents still open, marked "in maintenance" (``oncall.noise.maintenance``)."""

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(max_length=200, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    channel = models.ForeignKey(
        "oncall.Channel",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        help_text=_("The whole channel; or leave empty and choose a source."),
        verbose_name=_("channel"),
    )
    source = models.ForeignKey(
        "oncall.AlertSource",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="maintenance_windows",
        help_text=_("Incidents its alerts open, whichever channel they go to."),
        verbose_name=_("source"),
    )
    starts_at = models.DateTimeField(verbose_name=_("starts at"))
    ends_at = models.DateTimeField(verbose_name=_("ends at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

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
        verbose_name = _("maintenance window")
        verbose_name_plural = _("maintenance windows")

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
