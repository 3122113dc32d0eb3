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


class MergeForm(forms.Form):
    """The incidents of the channel to merge into the one whose page this is: the page offers
    ``candidates`` (open incidents of its channel), as ``(public id, label)`` pairs."""

    incidents = forms.MultipleChoiceField(
        label=gettext_lazy("Incidents to merge into this one"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one incident to merge.")},
    )

    def __init__(self, *args, candidates: list[tuple[str, str]], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["incidents"].choices = candidates


class MergeIntoForm(forms.Form):
    """The number of the incident to merge this one into."""

    number = forms.IntegerField(
        label=gettext_lazy("Merge this incident into incident number"),
        min_value=1,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "placeholder": "123"}),
    )
