"""What a page or an API request asks insights for: channel, period, acknowledgement target;
read, checked and turned into a ``Scope`` (the viewer's channels only)."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oncall.insights.figures import Night, Scope
from oncall.insights.period import (
    DEFAULT_PRESET,
    PRESETS,
    BadPeriod,
    Period,
    api_period,
    days_period,
    preset_period,
)
from oncall.models import Channel
from oncall.permissions import insight_channels

# The acknowledgement target one may ask for, in minutes: up to a day.
TARGET_MAX_MINUTES = 24 * 60
PERIOD_CHOICES = [(key, label) for key, (label, _days) in PRESETS.items()] + [
    ("custom", gettext_lazy("Custom dates"))
]


class BadRequest(ValueError):
    """A request insights cannot answer; ``code`` is the API's stable error code."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def night() -> Night:
    return Night(settings.INSIGHTS_NIGHT_START_HOUR, settings.INSIGHTS_NIGHT_END_HOUR)


def default_target_minutes() -> int:
    return settings.INSIGHTS_ACK_TARGET_MINUTES


class InsightsFilterForm(forms.Form):
    """The page's filters, from the query string (GET): every field may be left out."""

    channel = forms.ModelChoiceField(
        label=gettext_lazy("Channel"),
        queryset=Channel.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=gettext_lazy("All my channels"),
    )
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_CHOICES, required=False)
    since = forms.DateField(label=gettext_lazy("From"), required=False)
    until = forms.DateField(label=gettext_lazy("To"), required=False)
    target = forms.IntegerField(
        label=gettext_lazy("Acknowledge within (minutes)"),
        min_value=1,
        max_value=TARGET_MAX_MINUTES,
        required=False,
    )

    def __init__(
        self,
        data: Any,
        user: AbstractBaseUser | AnonymousUser,
        now: datetime,
        tz: tzinfo,
    ) -> None:
        super().__init__(data)
        self.now, self.tz = now, tz
        self.fields["channel"].queryset = insight_channels(user).order_by("name")
        self.fields["since"].widget.input_type = "date"
        self.fields["until"].widget.input_type = "date"
        self.period: Period | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        preset = data.get("period") or DEFAULT_PRESET
        if preset != "custom":
            self.period = preset_period(preset, self.now, self.tz)
            return data
        since, until = data.get("since"), data.get("until")
        if since is None and "since" not in self.errors:
            self.add_error("since", _("Choose the first day of the period."))
        if until is None and "until" not in self.errors:
            self.add_error("until", _("Choose the last day of the period."))
        if since and until:
            try:
                self.period = days_period(since, until, self.tz)
            except BadPeriod as exc:
                raise ValidationError(exc.message, code=exc.code) from None
        return data

    def scope(self, user: AbstractBaseUser | AnonymousUser) -> Scope:
        """Call after ``is_valid()``: the chosen channel, or every channel the user may see."""
        channel = self.cleaned_data.get("channel")
        ids = [channel.pk] if channel else list(insight_channels(user).values_list("pk", flat=True))
        minutes = self.cleaned_data.get("target") or default_target_minutes()
        assert self.period is not None
        return Scope(ids, self.period, timedelta(minutes=minutes), night())


def api_scope(
    user: AbstractBaseUser | AnonymousUser, params: Any, now: datetime, tz: tzinfo
) -> tuple[Scope, Channel | None]:
    """The API's query parameters (``channel``, ``since``, ``until``, ``target``), checked;
    raises ``BadRequest``. A channel the user may not see is answered as one that does not
    exist: the answer does not tell which."""
    try:
        period = api_period(params.get("since"), params.get("until"), now, tz)
    except BadPeriod as exc:
        raise BadRequest(exc.code, exc.message, exc.field) from None
    visible = insight_channels(user)
    channel = None
    if params.get("channel"):
        channel = _visible_channel(visible, params["channel"])
        ids = [channel.pk]
    else:
        ids = list(visible.values_list("pk", flat=True))
    minutes = _target(params.get("target"))
    return Scope(ids, period, timedelta(minutes=minutes), night()), channel


def _visible_channel(visible: Any, value: str) -> Channel:
    try:
        return visible.get(public_id=value)
    except (Channel.DoesNotExist, ValidationError, ValueError):
        raise BadRequest(
            "unknown_channel",
            _("No channel of yours has the id “%(value)s”.") % {"value": value[:100]},
            "channel",
        ) from None


def _target(value: str | None) -> int:
    if not value:
        return default_target_minutes()
    try:
        minutes = int(value)
    except ValueError:
        minutes = 0
    if not 1 <= minutes <= TARGET_MAX_MINUTES:
        raise BadRequest(
            "invalid_target",
            _("The target is a whole number of minutes from 1 to %(most)d.")
            % {"most": TARGET_MAX_MINUTES},
            "target",
        )
    return minutes
