"""Forms of the responder pages that more than one view renders."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from oncall.durations import snooze_choices

CLOSE_NOTE_MAX_CHARS = 500


class SnoozeForm(forms.Form):
    duration = forms.ChoiceField(label=gettext_lazy("Snooze for"), choices=snooze_choices)


class CloseForm(forms.Form):
    note = forms.CharField(
        label=gettext_lazy("Note for the timeline (optional)"),
        required=False,
        max_length=CLOSE_NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
