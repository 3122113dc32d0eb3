from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from oncall.languages import language_choices
from oncall.models.versions import keep_versions
from oncall.noise.grouping import validate_branches


def _validate_label_names(value: object) -> None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValidationError('Enter a list of label names, e.g. ["alertname", "cluster"].')


def _validate_thresholds(value: object) -> None:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 2 for v in value
    ):
        raise ValidationError(_("Enter a list of alert counts of at least 2, e.g. [50, 200]."))
    if len(set(value)) != len(value):
        raise ValidationError(_("Each alert count may appear once."))


class Channel(models.Model):
    """A team's collaboration space: its alert sources, escalation rules and incidents."""

    class Flapping(models.TextChoices):
        """What an alert key that keeps triggering and recovering does to its incident."""

        OFF = "off", _("off")
        MARK = "mark", _("mark as flapping")
        QUIET = "quiet", _("mark as flapping and stop notifying after the first")

    public_id = models.UUIDField(
        default=uuid.uuid4, unique=True, editable=False, verbose_name=_("public id")
    )
    name = models.CharField(max_length=120, unique=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="oncall_channels",
        help_text=_("People who may act on this channel's incidents."),
        verbose_name=_("members"),
    )
    teams = models.ManyToManyField(
        Group,
        blank=True,
        related_name="oncall_channels",
        help_text=_("Every member of these groups may act on this channel's incidents too."),
        verbose_name=_("teams"),
    )
    group_by_labels = models.JSONField(
        default=list,
        blank=True,
        validators=[_validate_label_names],
        help_text=_(
            "Alerts whose values of these labels are equal share one open incident. "
            "Empty: every alert gets an incident of its own."
        ),
        verbose_name=_("group by labels"),
    )
    group_window_minutes = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_(
            "Only group into an incident opened less than this many minutes ago. "
            "Empty: group into the open incident however old it is."
        ),
        verbose_name=_("group window minutes"),
    )
    # --- Noise reduction (``oncall.noise``): finer grouping, storms, flapping ----------------
    grouping_branches = models.JSONField(
        default=list,
        blank=True,
        validators=[validate_branches],
        help_text=_(
            "Group some alerts by other labels: a list of "
            '{"condition": [matchers], "group_by": ["label", ...]}, tried in order; the first '
            "whose condition holds gives the labels. Other alerts: group by labels above."
        ),
        verbose_name=_("grouping branches"),
    )
    strict_grouping = models.BooleanField(
        default=False,
        help_text=_(
            "An alert missing a grouping label (or with it empty) gets an incident of its "
            "own. Off: an empty value groups like any other value."
        ),
        verbose_name=_("strict grouping"),
    )
    storm_thresholds = models.JSONField(
        default=list,
        blank=True,
        validators=[_validate_thresholds],
        help_text=_(
            "Alert storm warning: when an incident's alert count reaches one of these numbers, "
            "its timeline says so and its current escalation level is notified once more."
        ),
        verbose_name=_("storm thresholds"),
    )
    flapping = models.CharField(
        max_length=8,
        choices=Flapping.choices,
        default=Flapping.OFF,
        help_text=_(
            "An alert key that triggers again more than the times below within the minutes "
            "below marks its incident flapping."
        ),
        verbose_name=_("flapping"),
    )
    flapping_times = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Flapping: more than this many triggers after recoveries..."),
        verbose_name=_("flapping times"),
    )
    flapping_minutes = models.PositiveSmallIntegerField(
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(1440)],
        help_text=_("...within this many minutes."),
        verbose_name=_("flapping minutes"),
    )
    auto_close = models.BooleanField(
        default=True,
        help_text=_("Close an incident by itself once every one of its alerts has recovered."),
        verbose_name=_("auto close"),
    )
    notification_template = models.ForeignKey(
        "oncall.NotificationTemplate",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="channels",
        help_text=_("What its notifications say; empty: the built-in template."),
        verbose_name=_("notification template"),
    )
    # Blank, not null: Django keeps one "no value" for text fields; blank follows the app.
    card_language = models.CharField(
        _("card language"),
        max_length=16,
        blank=True,
        default="",
        choices=language_choices,
        help_text=_(
            "The language of its incidents' cards and chat answers; empty: the chat app's "
            "card language."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # A new value whenever the channel's silences or inhibit rules are written (their saves
    # and queryset writes set it, ``oncall.models.versions``): a worker keeps them compiled per
    # version, so that merging a chunk of alerts costs no query for them.
    noise_version = models.UUIDField(default=uuid.uuid4, editable=False)
    # The same for its escalation rules and their levels (``oncall.escalation_rules``): a
    # worker keeps them per version, so that choosing an incident's rule and level costs no
    # query while they stay as they are.
    escalation_version = models.UUIDField(default=uuid.uuid4, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        keep_versions(self, ["noise_version", "escalation_version"], kwargs)
        super().save(*args, **kwargs)

    @property
    def group_window(self) -> timedelta | None:
        if self.group_window_minutes is None:
            return None
        return timedelta(minutes=self.group_window_minutes)
