"""Filters of the insights page: durations and shares as people read them."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def seconds(value: float | None) -> str:
    """``4 min 10 s``, ``2 h 5 min``, ``3 d 4 h``; a dash for no value."""
    if value is None:
        return "\u2013"  # an en dash
    total = round(value)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)d s") % {"m": minutes, "s": secs}
    return _("%(s)d s") % {"s": secs}


@register.filter
def percent(value: float | None) -> str:
    """A share as a percentage with one decimal; a dash for no value."""
    if value is None:
        return "\u2013"  # an en dash
    return f"{value * 100:.1f} %"
