"""Durations people type: ``30m``, ``2h``, ``1h30m``, ``1d`` or a bare number of minutes."""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.utils.translation import gettext as _

_PART = re.compile(r"(\d+)\s*([dhm])", re.IGNORECASE)
_UNIT_MINUTES = {"d": 24 * 60, "h": 60, "m": 1}
# More digits than any duration people mean: a number this long only overflows ``timedelta``
# (or is more than Python converts to an int at all).
_MAX_DIGITS = 12


def parse_duration(value: str | int) -> timedelta:
    """Raise ``ValueError`` with a message meant for the person who typed it."""
    try:
        return timedelta(minutes=_minutes(value))
    except OverflowError:
        raise ValueError(_too_long(value)) from None


def _minutes(value: str | int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value).strip().lower().replace(" ", "")
    if text.isdecimal():
        return _number(text, value)
    if not text or _PART.sub("", text):
        raise ValueError(f"{value!r} is not a duration: write e.g. 30m, 2h, 1h30m or 1d")
    return sum(_number(n, value) * _UNIT_MINUTES[unit] for n, unit in _PART.findall(text))


def _number(digits: str, value: str | int) -> int:
    if len(digits) > _MAX_DIGITS:
        raise ValueError(_too_long(value))
    return int(digits)


def _too_long(value: str | int) -> str:
    shown = str(value) if len(str(value)) <= 40 else str(value)[:39] + "…"
    return f"{shown} is too long: write e.g. 30m, 2h, 1h30m or 1d"


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
