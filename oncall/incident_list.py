"""The responders' incident list: its filters, its urgency order and its counts per state.

The page, its live refresh and any other list of incidents for people read through here, so
"snoozed" or "urgent" mean one thing everywhere. Every query is a fixed number of statements
whatever the number of incidents: one for the counts (conditional aggregates), one for the
page's total and one for the page's rows with their channel and people joined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext_lazy as _

from oncall.events import Severity
from oncall.models import Channel, Incident
from oncall.permissions import visible_channels, visible_incidents
from oncall.wording import display_state, status_line

Status = Incident.Status

STATE_CHOICES = [
    ("open", _("Open")),
    ("triggered", _("Triggered")),
    ("claimed", _("Claimed")),
    ("snoozed", _("Snoozed")),
    ("closed", _("Closed")),
    ("all", _("All")),
]
# "Opened within": value -> (label, how far back).
PERIODS = {
    "1h": (_("Last hour"), timedelta(hours=1)),
    "24h": (_("Last 24 hours"), timedelta(days=1)),
    "7d": (_("Last 7 days"), timedelta(days=7)),
    "30d": (_("Last 30 days"), timedelta(days=30)),
}
PERIOD_CHOICES = [("", _("Any time"))] + [(key, label) for key, (label, _ago) in PERIODS.items()]
SORT_CHOICES = [("urgency", _("Most urgent first")), ("newest", _("Newest first"))]
SEARCH_MAX_CHARS = 200


def state_conditions(now: datetime) -> dict[str, Q]:
    """Each display state as a condition; together they split the incidents without overlap
    (a snoozed incident is snoozed whether or not someone claimed it)."""
    snoozed = Q(snoozed_until__gt=now) & ~Q(status=Status.CLOSED)
    return {
        "triggered": Q(status=Status.TRIGGERED) & ~snoozed,
        "claimed": Q(status=Status.ACKNOWLEDGED) & ~snoozed,
        "snoozed": snoozed,
        "closed": Q(status=Status.CLOSED),
    }


class IncidentFilterForm(forms.Form):
    """The list's filters, read from the query string. An invalid value is reported next to
    its field and that filter is left out; the others still apply."""

    state = forms.ChoiceField(label=_("Status"), choices=STATE_CHOICES, required=False)
    channel = forms.ModelChoiceField(
        label=_("Channel"),
        queryset=Channel.objects.none(),
        to_field_name="public_id",
        required=False,
        empty_label=_("All my channels"),
    )
    severity = forms.ChoiceField(
        label=_("Severity"), choices=[("", _("Any severity")), *Severity.choices], required=False
    )
    period = forms.ChoiceField(label=_("Opened"), choices=PERIOD_CHOICES, required=False)
    mine = forms.BooleanField(label=_("Claimed by me"), required=False)
    assigned = forms.BooleanField(label=_("Assigned to me"), required=False)
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=SEARCH_MAX_CHARS,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Title or #number")}),
    )
    sort = forms.ChoiceField(label=_("Order"), choices=SORT_CHOICES, required=False)

    def __init__(self, data: Any, user: AbstractBaseUser | AnonymousUser) -> None:
        super().__init__(data)
        self.user = user
        self.fields["channel"].queryset = visible_channels(user).order_by("name")

    def value(self, name: str, default: Any = "") -> Any:
        """A filter's cleaned value; ``default`` when it was left empty or is invalid."""
        if not self.is_bound or not hasattr(self, "cleaned_data"):
            self.is_valid()
        return self.cleaned_data.get(name) or default


@dataclass(frozen=True)
class IncidentList:
    """What the page shows: the filtered incidents of the chosen state, in order, and how many
    incidents each state has under the other filters."""

    incidents: QuerySet[Incident]
    counts: dict[str, int]
    state: str


def incident_row(incident: Incident, now: datetime) -> dict[str, Any]:
    """What a row of any incident list shows besides the incident: its state and status line."""
    return {
        "incident": incident,
        "state": display_state(incident, now),
        "status_line": status_line(incident, now),
    }


def incident_list(form: IncidentFilterForm, now: datetime) -> IncidentList:
    filtered = _filtered(form, now)
    conditions = state_conditions(now)
    state = form.value("state", "open")
    counts = filtered.aggregate(
        **{name: Count("pk", filter=condition) for name, condition in conditions.items()}
    )
    counts["open"] = counts["triggered"] + counts["claimed"] + counts["snoozed"]
    counts["all"] = counts["open"] + counts["closed"]
    chosen = filtered
    if state == "open":
        chosen = filtered.exclude(conditions["closed"])
    elif state in conditions:
        chosen = filtered.filter(conditions[state])
    ordered = _ordered(chosen, form.value("sort", "urgency"), conditions)
    return IncidentList(
        incidents=ordered.select_related(
            "channel", "claimed_by", "closed_by", "merged_into", "assigned_to"
        ),
        counts=counts,
        state=state,
    )


def _filtered(form: IncidentFilterForm, now: datetime) -> QuerySet[Incident]:
    incidents = visible_incidents(form.user)
    channel = form.value("channel", None)
    if channel is not None:
        incidents = incidents.filter(channel=channel)
    severity = form.value("severity")
    if severity:
        incidents = incidents.filter(severity=severity)
    period = form.value("period")
    if period in PERIODS:
        incidents = incidents.filter(created_at__gte=now - PERIODS[period][1])
    if form.value("mine", False):
        incidents = incidents.filter(claimed_by=form.user)
    if form.value("assigned", False):
        incidents = incidents.filter(assigned_to=form.user)
    search = form.value("q")
    if search:
        incidents = incidents.filter(search_condition(search))
    return incidents


def search_condition(text: str) -> Q:
    """Title words, or an incident number written as ``#123`` or ``123``."""
    matches = Q(title__icontains=text)
    number = text.removeprefix("#").strip()
    if number.isdigit() and len(number) <= 18:
        matches |= Q(number=int(number))
    return matches


def _ordered(
    incidents: QuerySet[Incident], sort: str, conditions: dict[str, Q]
) -> QuerySet[Incident]:
    if sort == "newest":
        return incidents.order_by("-created_at", "-pk")
    # Most urgent first: what nobody handles yet, then what someone handles, then what waits,
    # then what is over; within each, the worst severity, then the newest.
    state_rank = Case(
        When(conditions["triggered"], then=Value(0)),
        When(conditions["claimed"], then=Value(1)),
        When(conditions["snoozed"], then=Value(2)),
        default=Value(3),
        output_field=IntegerField(),
    )
    severity_rank = Case(
        *(When(severity=s.value, then=Value(s.rank)) for s in Severity),
        default=Value(len(Severity)),
        output_field=IntegerField(),
    )
    return incidents.annotate(state_rank=state_rank, severity_rank=severity_rank).order_by(
        "state_rank", "severity_rank", "-created_at", "-pk"
    )
