"""Forms of the responder pages that more than one view renders."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oncall.durations import SNOOZE_PRESETS

CLOSE_NOTE_MAX_CHARS = 500


def snooze_choices() -> list[tuple[str, str]]:
    """The presets the lifecycle accepts (``SNOOZE_MAX_MINUTES``), as (value, label)."""
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


class SnoozeForm(forms.Form):
    duration = forms.ChoiceField(label=gettext_lazy("Snooze for"), choices=snooze_choices)


class CloseForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note for the timeline (optional)"),
        required=False,
        max_length=CLOSE_NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
