"""Durations people type: ``30m``, ``2h``, ``1h30m``, ``1d`` or a bare number of minutes."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext as _

_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}


def parse_duration(value: str | int) -> timedelta:
    """Raise ``ValueError`` with a message meant for the person who typed it."""
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(minutes=value)
    text = str(value).strip().lower().replace(" ", "")
    if text.isdigit():
        return timedelta(minutes=int(text))
    if not text or _PART.sub("", text):
        raise ValueError(f"{value!r} is not a duration: write e.g. 30m, 2h, 1h30m or 1d")
    minutes = sum(int(n) * _UNIT_MINUTES[unit] for n, unit in _PART.findall(text))
    return timedelta(minutes=minutes)


# The snooze durations people pick from (cards' menu, web pages, chat commands), by value; a
# snooze longer than ``settings.SNOOZE_MAX_MINUTES`` is left out where they are offered.
SNOOZE_PRESETS: dict[str, int] = {
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "12h": 720,
    "24h": 1440,
}


def snooze_choices() -> list[tuple[str, str]]:
    """The presets the lifecycle accepts (``SNOOZE_MAX_MINUTES``), as (value, label) in the
    active language: what every surface offers."""
    return [
        (value, _humanize(minutes))
        for value, minutes in SNOOZE_PRESETS.items()
        if minutes <= settings.SNOOZE_MAX_MINUTES
    ]


def _humanize(minutes: int) -> str:
    if minutes % 60:
        return _("%(count)d minutes") % {"count": minutes}
    hours = minutes // 60
    return _("1 hour") if hours == 1 else _("%(count)d hours") % {"count": hours}
