"""On-call schedules: who is on call when, as rotations in layers, with overrides.

A schedule has a time zone and layers; each layer is a rotation of participants (turns of
``rotation_every`` hours, days or weeks from ``start_date`` at ``handoff_time``), optionally
restricted to weekly windows. Higher layers (a larger ``position``) win where they have
someone; an override puts a person in for a period and beats every layer. The arithmetic is
``oncall.schedules.rotation`` (plain data); ``oncall.schedules.resolve`` reads these rows into
it. Escalation levels name schedules and notify whoever is on call when the level runs.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oncall.models.escalation import default_time_zone, validate_time_zone
from oncall.schedules.rotation import Unit, Window
from oncall.timeline_messages import render_entry

DAY_NUMBERS = range(7)


# --- Restrictions -------------------------------------------------------------------------------


def _parse_clock(value: Any, field: str) -> time:
    if not isinstance(value, str):
        raise ValidationError(_("%(field)s must be a time such as 09:00."), params={"field": field})
    try:
        return time.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            _("%(field)s must be a time such as 09:00, not %(value)s."),
            params={"field": field, "value": value[:20]},
        ) from None


def parse_restrictions(value: Any) -> tuple[Window, ...]:
    """``[{"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}, ...]`` (0 = Monday; an
    end before the start crosses midnight; an end equal to the start is the whole day) as
    windows; ``ValidationError`` saying what is wrong otherwise."""
    if not isinstance(value, list):
        raise ValidationError(
            _(
                'Enter a list of windows, e.g. [{"days": [0, 1, 2, 3, 4], "start": "09:00", '
                '"end": "18:00"}].'
            )
        )
    return tuple(_parse_window(item, index) for index, item in enumerate(value, start=1))


def _parse_window(item: Any, number: int) -> Window:
    if not isinstance(item, dict) or set(item) != {"days", "start", "end"}:
        raise ValidationError(
            _('Window %(number)s: give exactly "days", "start" and "end".'),
            params={"number": number},
        )
    days = item["days"]
    if not isinstance(days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d in DAY_NUMBERS for d in days
    ):
        raise ValidationError(
            _("Window %(number)s: days are numbers, 0 = Monday ... 6 = Sunday."),
            params={"number": number},
        )
    if not days:
        raise ValidationError(
            _("Window %(number)s leaves no time: choose at least one day."),
            params={"number": number},
        )
    return Window(
        frozenset(days), _parse_clock(item["start"], "start"), _parse_clock(item["end"], "end")
    )


def validate_restrictions(value: Any) -> None:
    parse_restrictions(value)


# --- Schedules ----------------------------------------------------------------------------------


class Schedule(models.Model):
    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=default_time_zone,
        validators=[validate_time_zone],
        help_text=_("Hand-offs, restrictions and the pages' times are in this zone."),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        ordering = ["name"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")

    def __str__(self) -> str:
        return self.name


class ScheduleLayer(models.Model):
    """One rotation of a schedule."""

    class RotationUnit(models.TextChoices):
        HOURS = Unit.HOURS.value, _("hours")
        DAYS = Unit.DAYS.value, _("days")
        WEEKS = Unit.WEEKS.value, _("weeks")

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="layers", verbose_name=_("schedule")
    )
    position = models.PositiveIntegerField(
        _("position"),
        default=0,
        help_text=_("Layers with a higher position win where they have someone on call."),
    )
    name = models.CharField(_("name"), max_length=120)
    start_date = models.DateField(
        _("start date"), help_text=_("The first turn starts on this day at the hand-off time.")
    )
    handoff_time = models.TimeField(
        _("hand-off time"),
        default=time(9, 0),
        help_text=_("Local time in the schedule's zone when one turn ends and the next begins."),
    )
    rotation_every = models.PositiveIntegerField(
        _("turn length"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text=_("Each participant's turn lasts this many units: 1 week, 12 hours, 3 days."),
    )
    rotation_unit = models.CharField(
        _("unit"), max_length=8, choices=RotationUnit.choices, default=RotationUnit.WEEKS
    )
    end_date = models.DateField(
        _("end date"),
        null=True,
        blank=True,
        help_text=_("The layer ends on this day at the hand-off time. Empty: it goes on."),
    )
    restrictions = models.JSONField(
        _("restrictions"),
        default=list,
        blank=True,
        validators=[validate_restrictions],
        help_text=_(
            'Only within these weekly windows, e.g. [{"days": [0, 1, 2, 3, 4], "start": '
            '"09:00", "end": "18:00"}] for weekdays 09:00-18:00 (0 = Monday; an end before '
            "the start crosses midnight). Empty: at all times."
        ),
    )

    class Meta:
        ordering = ["schedule", "position", "id"]
        verbose_name = _("layer")
        verbose_name_plural = _("layers")

    def __str__(self) -> str:
        return f"{self.schedule}: {self.name}"

    def clean(self) -> None:
        if self.end_date is not None and self.start_date and self.end_date <= self.start_date:
            raise ValidationError(
                {"end_date": _("The layer would end before its first turn: choose a later day.")}
            )


class LayerParticipant(models.Model):
    """A person's place in a layer's turn order. The same person may appear more than once
    (e.g. a short team taking two turns each)."""

    layer = models.ForeignKey(
        ScheduleLayer,
        on_delete=models.CASCADE,
        related_name="participants",
        verbose_name=_("layer"),
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="schedule_turns",
        verbose_name=_("person"),
    )
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["layer", "position", "id"]
        verbose_name = _("participant")
        verbose_name_plural = _("participants")

    def __str__(self) -> str:
        return f"{self.layer}: {self.user}"


class ScheduleOverride(models.Model):
    """Someone on call instead of whoever the layers say, for a period."""

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="overrides", verbose_name=_("schedule")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="schedule_overrides",
        verbose_name=_("person"),
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )

    class Meta:
        ordering = ["schedule", "start", "id"]
        verbose_name = _("override")
        verbose_name_plural = _("overrides")
        indexes = [models.Index(fields=["schedule", "end"], name="override_schedule_end")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__gt=models.F("start")), name="override_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.user} {self.start:%Y-%m-%d %H:%M}-{self.end:%Y-%m-%d %H:%M}"

    def clean(self) -> None:
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": _("The override must end after it starts.")})
        if self.schedule_id and self.start and self.end:
            clash = self.overlapping().first()
            if clash is not None:
                raise ValidationError(
                    _(
                        "It overlaps %(person)s's override from %(start)s to %(end)s: shorten "
                        "or delete that one first."
                    ),
                    params={
                        "person": clash.user.get_full_name() or clash.user.get_username(),
                        "start": self._local(clash.start),
                        "end": self._local(clash.end),
                    },
                )

    def _local(self, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(self.schedule.time_zone)).strftime("%Y-%m-%d %H:%M")

    def overlapping(self) -> models.QuerySet[ScheduleOverride]:
        return (
            ScheduleOverride.objects.filter(
                schedule_id=self.schedule_id, start__lt=self.end, end__gt=self.start
            )
            .exclude(pk=self.pk)
            .select_related("user")
        )


class ShiftNotice(models.Model):
    """A shift-start notice given to a person (``oncall.schedules.notices``): one per schedule,
    person and shift start, inserted before it is sent, so that overlapping runs of the task
    and restarts send it once."""

    schedule = models.ForeignKey(
        Schedule, on_delete=models.CASCADE, related_name="notices", verbose_name=_("schedule")
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="shift_notices",
        verbose_name=_("person"),
    )
    shift_start = models.DateTimeField(_("shift start"))
    shift_end = models.DateTimeField(_("shift end"), null=True, blank=True)
    created_at = models.DateTimeField(
        default=timezone.now, editable=False, verbose_name=_("created at")
    )
    # In English, always written; the notices given before ``outcome_kind`` show it as it is.
    outcome = models.TextField(
        _("outcome"), blank=True, help_text=_("What the chat platforms reported.")
    )
    # The outcome put into words when read (``oncall.timeline_messages``), in the reader's
    # language: a message kind and its placeholders' values.
    outcome_kind = models.CharField(max_length=64, blank=True, default="")
    outcome_params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-shift_start", "id"]
        verbose_name = _("shift notice")
        verbose_name_plural = _("shift notices")
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "user", "shift_start"], name="one_notice_per_shift_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.schedule}: {self.user} {self.shift_start:%Y-%m-%d %H:%M}"

    @property
    def outcome_text(self) -> str:
        """The outcome in the active language (the reader's)."""
        return render_entry(self.outcome_kind, self.outcome_params, self.outcome)
