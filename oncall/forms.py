"""Forms of the responder pages that more than one view renders."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Q
from django.utils.translation import gettext, gettext_lazy

from oncall import lifecycle
from oncall.durations import snooze_choices
from oncall.events import Severity
from oncall.models import Channel, EscalationRule, Incident
from oncall.notes import MAX_NOTE_CHARS
from oncall.permissions import assignable_people, visible_channels
from oncall.timeline import Actor, display_name

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


class NewIncidentForm(forms.Form):
    """Opening an incident by hand (``lifecycle.open_incident``, which checks everything
    again): among the person's channels, with people to page among those channels' members."""

    channel = forms.ModelChoiceField(
        label=gettext_lazy("Channel"),
        queryset=Channel.objects.none(),
        to_field_name="public_id",
        empty_label=None,
    )
    title = forms.CharField(
        label=gettext_lazy("Title"), max_length=lifecycle.MANUAL_TITLE_MAX_CHARS
    )
    description = forms.CharField(
        label=gettext_lazy("Description (optional)"),
        required=False,
        max_length=lifecycle.MANUAL_DESCRIPTION_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    severity = forms.ChoiceField(
        label=gettext_lazy("Severity"),
        choices=Severity.choices,
        initial=lifecycle.MANUAL_DEFAULT_SEVERITY,
    )
    page = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Page now (optional)"),
        queryset=get_user_model().objects.none(),
        required=False,
        help_text=gettext_lazy(
            "Notified at once, besides the people the channel's escalation rule notifies."
        ),
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    def __init__(self, data: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        channels = visible_channels(user).order_by("name")
        self.fields["channel"].queryset = channels
        user_model = get_user_model()
        self.fields["page"].queryset = (
            user_model.objects.filter(
                Q(oncall_channels__in=channels.values("pk"))
                | Q(groups__oncall_channels__in=channels.values("pk")),
                is_active=True,
            )
            .distinct()
            .order_by(user_model.USERNAME_FIELD)
        )
        self.fields["page"].label_from_instance = display_name


class AssignForm(forms.Form):
    """Whom to hand an incident to: one of its channel's members, or a level of one of its
    enabled escalation rules. ``target`` values are ``user:<id>`` and
    ``level:<rule id>:<number>``; ``cleaned_data["choice"]`` is the chosen ``AssignChoice``."""

    target = forms.ChoiceField(label=gettext_lazy("Assign to"))

    def __init__(self, data: Any, incident: Incident, **kwargs: Any) -> None:
        super().__init__(data, **kwargs)
        self.people = {str(p.pk): p for p in assignable_people(incident.channel_id)}
        self.levels: dict[str, tuple[EscalationRule, int]] = {}
        level_choices = []
        rules = EscalationRule.objects.filter(channel_id=incident.channel_id, enabled=True)
        for rule in rules.prefetch_related("levels__users").order_by("position", "id"):
            levels = sorted(rule.levels.all(), key=lambda level: (level.position, level.pk))
            for number, level in enumerate(levels, start=1):
                value = f"level:{rule.public_id}:{number}"
                self.levels[value] = (rule, number)
                label = gettext("%(rule)s · level %(number)s: %(who)s") % {
                    "rule": rule.name,
                    "number": number,
                    "who": level.describe(),
                }
                level_choices.append((value, label))
        self.fields["target"].choices = [
            ("", gettext("Choose a person or a level")),
            (
                gettext("People"),
                [(f"user:{pk}", display_name(p)) for pk, p in self.people.items()],
            ),
            (gettext("Escalation levels"), level_choices),
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        target = cleaned.get("target") or ""
        kind, _, rest = target.partition(":")
        if kind == "user" and rest in self.people:
            cleaned["choice"] = AssignChoice(user=self.people[rest])
        elif target in self.levels:
            rule, number = self.levels[target]
            cleaned["choice"] = AssignChoice(rule=rule, level=number)
        elif "target" not in self.errors:
            self.add_error("target", gettext("Choose a person or a level."))
        return cleaned


@dataclass(frozen=True)
class AssignChoice:
    user: Any = None
    rule: EscalationRule | None = None
    level: int | None = None

    def assign(self, incident: Incident, actor: Actor) -> lifecycle.Outcome:
        if self.user is not None:
            return lifecycle.assign_person(incident, actor, self.user)
        assert self.level is not None  # AssignForm makes one or the other
        return lifecycle.assign_level(incident, actor, self.level, self.rule)


class NoteForm(forms.Form):
    """A note's text (new or edited); the lifecycle service checks it again and stores it."""

    body = forms.CharField(
        label=gettext_lazy("Note"),
        max_length=MAX_NOTE_CHARS,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Markdown: **bold**, `code`, lists and links."),
    )
