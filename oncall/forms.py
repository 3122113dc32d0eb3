"""Forms of the responder pages that more than one view renders."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from oncall.durations import snooze_choices
from oncall.notes import MAX_NOTE_CHARS

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


class NoteForm(forms.Form):
    """A note's text (new or edited); the lifecycle service checks it again and stores it."""

    body = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=MAX_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Markdown: **bold**, `code`, lists and links."),
    )
