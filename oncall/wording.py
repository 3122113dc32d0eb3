"""How an incident's state reads to people: the same words on Feishu cards and web pages.

Pages show them in the reader's language; cards, one message for every recipient, in the
console's (``LANGUAGE_CODE``, see ``integrations.feishu.cards.render``).

Times are shown in the console's time zone (``settings.TIME_ZONE``), never a per-request one:
a card is one message that every recipient sees alike. A time of another day carries its date.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from oncall.models import Incident
from oncall.timeline import claimed_by_person, claimer_name, display_name


class DisplayState(StrEnum):
    """The state people act on; it decides a card's colour and buttons."""

    TRIGGERED = "triggered"
    CLAIMED = "claimed"
    SNOOZED = "snoozed"
    CLOSED = "closed"


# What people may do in each state, in the order pages offer it (cards offer the same).
ACTIONS: dict[DisplayState, tuple[str, ...]] = {
    DisplayState.TRIGGERED: ("claim", "close", "snooze"),
    DisplayState.CLAIMED: ("unclaim", "close", "snooze"),
    DisplayState.SNOOZED: ("wake", "close"),
    DisplayState.CLOSED: ("reopen",),
}


# The actions one click does, as every surface's button: its label, and whether it is the
# state's main action. Snooze (a choice of durations) and close (a question first) are drawn
# by each surface its own way.
ONE_CLICK_BUTTONS: dict[str, tuple[str, bool]] = {
    "claim": (gettext_lazy("Claim"), True),
    "unclaim": (gettext_lazy("Unclaim"), False),
    "wake": (gettext_lazy("Wake"), True),
    "reopen": (gettext_lazy("Reopen"), False),
}


# What the person acting reads when the action changed something (a page's message, a card's
# toast); when it changed nothing, the lifecycle's own message says why.
DONE = {
    "claim": gettext_lazy("Claimed by you."),
    "unclaim": gettext_lazy("Unclaimed: escalation resumes."),
    "close": gettext_lazy("Closed."),
    "reopen": gettext_lazy("Reopened: escalation starts again."),
    "snooze": gettext_lazy("Snoozed: escalation pauses until it wakes."),
    "wake": gettext_lazy("Woken up: the current level is notified again."),
    "open": gettext_lazy("Incident opened: its escalation has started."),
    "assign": gettext_lazy("Assigned."),
}


def available_actions(incident: Incident, state: DisplayState) -> tuple[str, ...]:
    """What people may do with ``incident`` in ``state`` (``ACTIONS``), on every surface: a
    merged incident offers nothing (its alerts are in the incident it was merged into)."""
    if incident.merged_into_id is not None:
        return ()
    return ACTIONS[state]


def display_state(incident: Incident, now: datetime) -> DisplayState:
    if incident.status == Incident.Status.CLOSED:
        return DisplayState.CLOSED
    if incident.snoozed_until is not None and incident.snoozed_until > now:
        return DisplayState.SNOOZED
    if incident.status == Incident.Status.ACKNOWLEDGED:
        return DisplayState.CLAIMED
    return DisplayState.TRIGGERED


def status_line(incident: Incident, now: datetime) -> str:
    """The state in a few words: "Triggered", "Claimed by Alice at 10:42", "Snoozed until
    12:00", "Closed by Bob at 11:05" ("Closed by system at ..." when nobody closed it by hand),
    "Merged into #12 by Bob at 11:05" (read ``merged_into`` with the incident: it is shown).
    """
    state = display_state(incident, now)
    if state == DisplayState.CLOSED and incident.merged_into_id is not None:
        return _("Merged into #%(number)s by %(name)s at %(time)s") % {
            "number": incident.merged_into.number,
            "name": closer_name(incident),
            "time": moment(incident.closed_at, now),
        }
    if state == DisplayState.CLOSED:
        return _("Closed by %(name)s at %(time)s") % {
            "name": closer_name(incident),
            "time": moment(incident.closed_at, now),
        }
    if state == DisplayState.SNOOZED:
        line = _("Snoozed until %(time)s") % {"time": moment(incident.snoozed_until, now)}
        if incident.status == Incident.Status.ACKNOWLEDGED:
            line += " · " + claimed_part(incident)
        return line
    if state == DisplayState.CLAIMED:
        return claimed_line(incident, now)
    return _("Triggered")


def claimed_line(incident: Incident, now: datetime) -> str:
    """ "Claimed by Alice at 10:42", or "Acknowledged by PagerDuty at 10:42" when an alert
    source acknowledged it (no person holds it)."""
    values = {"name": claimer_name(incident), "time": moment(incident.claimed_at, now)}
    if claimed_by_person(incident):
        return _("Claimed by %(name)s at %(time)s") % values
    return _("Acknowledged by %(name)s at %(time)s") % values


def claimed_part(incident: Incident) -> str:
    values = {"name": claimer_name(incident)}
    if claimed_by_person(incident):
        return _("claimed by %(name)s") % values
    return _("acknowledged by %(name)s") % values


def closer_name(incident: Incident) -> str:
    # No closer means the system closed it (every alert recovered, or a source resolved it).
    return display_name(incident.closed_by) if incident.closed_by_id else _("system")


def moment(value: datetime | None, now: datetime) -> str:
    """``10:42`` on the day of ``now``, ``2026-11-20 10:42`` on any other day."""
    if value is None:
        return _("an unknown time")
    zone = timezone.get_default_timezone()
    local = timezone.localtime(value, zone)
    if local.date() == timezone.localtime(now, zone).date():
        return local.strftime("%H:%M")
    return local.strftime("%Y-%m-%d %H:%M")


def ago(value: datetime | None, now: datetime) -> str:
    """How long ago ``value`` was, in the largest whole unit: "just now" under a minute,
    "1 minute ago", "3 hours ago", "2 days ago" (Django's ``timesince`` says "0 minutes"). A
    time a little ahead of ``now`` (another server's clock) is "just now" too."""
    if value is None:
        return _("never")
    seconds = int((now - value).total_seconds())
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 1:
        return _("just now")
    if hours < 1:
        return ngettext("%(count)d minute ago", "%(count)d minutes ago", minutes) % {
            "count": minutes
        }
    if days < 1:
        return ngettext("%(count)d hour ago", "%(count)d hours ago", hours) % {"count": hours}
    return ngettext("%(count)d day ago", "%(count)d days ago", days) % {"count": days}
