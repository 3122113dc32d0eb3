"""The incident-lifecycle service: the only code that changes an incident's state.

Every surface (web pages, the REST API, Feishu cards and chat commands, alert sources, tasks)
calls these functions. Each one:

* locks the incident row (``SELECT ... FOR UPDATE``), so two simultaneous requests are applied
  one after the other and the second sees what the first did;
* checks the actor may act on the incident's channel (``PermissionDenied`` otherwise);
* validates the transition against the state *as it is now*: a transition that is not possible
  raises :class:`TransitionRefused` whose message says why ("Already claimed by alice at
  12:03"); asking for a state the incident is already in returns an :class:`Outcome` with
  ``changed=False``, so a click delivered twice changes the state once;
* records a timeline entry with actor and source;
* plans escalation in the same transaction (``escalation.plan_start`` for a reopen,
  ``escalation.plan_after_change`` after any other change), so a process that dies right after
  the commit cannot leave an incident that should escalate unplanned;
* announces the change after commit (``oncall.signals.incident_changed``), for refreshing
  cards and pages only.

Notes (``add_note``, ``edit_note``, ``delete_note``) follow the same steps: the incident row
is locked (so a note and a concurrent action are ordered), only people who may act on the
channel write notes, and only a note's author changes it, within ``NOTE_EDIT_WINDOW_MINUTES``
(``oncall.notes``). A note changes no state and plans no escalation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from oncall import escalation
from oncall.models import Incident, IncidentNote, TimelineEntry
from oncall.notes import MAX_NOTE_CHARS
from oncall.permissions import can_act_on_channel
from oncall.timeline import Actor, announce, claimed_by_person, claimer_name, display_name, record

Kind = TimelineEntry.Kind
Status = Incident.Status


class LifecycleError(Exception):
    """Base of the errors an action can end in; ``message`` is meant for the person acting,
    ``code`` for programs (the API's error code)."""

    code = "error"

    def __init__(self, message: str, incident: Incident | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.incident = incident


class TransitionRefused(LifecycleError):
    """The incident's current state does not allow the action; ``incident`` is that state."""

    code = "transition_refused"


class InvalidRequest(LifecycleError):
    """The request itself is wrong (e.g. a snooze duration out of range)."""

    code = "invalid"


class NotYours(LifecycleError):
    """The actor may act on the incident, but this belongs to someone else (another's note)."""

    code = "not_your_note"


class EditWindowPassed(TransitionRefused):
    """A note can no longer be changed: ``NOTE_EDIT_WINDOW_MINUTES`` have passed."""

    code = "edit_window_passed"


@dataclass(frozen=True)
class Outcome:
    incident: Incident
    changed: bool
    message: str


IncidentRef = Incident | int | UUID


def claim(ref: IncidentRef, actor: Actor) -> Outcome:
    """Acknowledge: the actor takes the incident; escalation stops. Ends a snooze."""
    return _apply(ref, actor, _claim)


def unclaim(ref: IncidentRef, actor: Actor) -> Outcome:
    """Give a claimed incident back: it is triggered again and escalation resumes."""
    return _apply(ref, actor, _unclaim)


def close(ref: IncidentRef, actor: Actor, *, reason: str = "") -> Outcome:
    """Close the incident (by hand, or by the system when every alert recovered)."""
    return _apply(ref, actor, lambda incident, actor, now: _close(incident, actor, now, reason))


def reopen(ref: IncidentRef, actor: Actor) -> Outcome:
    """Bring a closed incident back to triggered; escalation starts again."""
    return _apply(ref, actor, _reopen)


def snooze(ref: IncidentRef, actor: Actor, duration: timedelta) -> Outcome:
    """Silence the incident's escalation for ``duration``; it wakes by itself afterwards."""
    _check_snooze_duration(duration)
    return _apply(ref, actor, lambda incident, actor, now: _snooze(incident, actor, now, duration))


def wake(ref: IncidentRef, actor: Actor, *, if_snoozed_until: datetime | None = None) -> Outcome:
    """End a snooze now. ``if_snoozed_until`` lets the timer task wake only the snooze it was
    scheduled for (a later re-snooze moved the time)."""
    return _apply(ref, actor, lambda incident, actor, now: _wake(incident, actor, if_snoozed_until))


# The actions that take nothing but the incident and the actor, by the name every surface
# uses for them (buttons, chat commands, URLs). Snooze also takes a duration.
BY_NAME: dict[str, Callable[[IncidentRef, Actor], Outcome]] = {
    "claim": claim,
    "unclaim": unclaim,
    "close": close,
    "reopen": reopen,
    "wake": wake,
}


@dataclass(frozen=True)
class NoteOutcome(Outcome):
    note: IncidentNote | None = None  # None once deleted


def add_note(ref: IncidentRef, actor: Actor, body: str) -> NoteOutcome:
    """Write a note on the incident, shown on its timeline. A note made from a chat message
    (``actor.via["message_id"]``) is made once however often the message is handled."""
    text = clean_note_body(body)
    with transaction.atomic():
        incident = _lock(ref)
        _check_may_act(incident, actor)
        origin = str(actor.via.get("message_id") or "")[:128]
        if origin and (noted := _note_of_message(incident, actor, origin)) is not None:
            return NoteOutcome(incident, False, f"Already noted on #{incident.number}", noted)
        now = timezone.now()
        note = IncidentNote.objects.create(
            incident=incident,
            author=actor.user,
            body=text,
            source=actor.source,
            origin=origin,
            created_at=now,
        )
        incident.save(update_fields=["updated_at"])
        record(incident, Kind.NOTE, actor, f"Note by {actor.name}", at=now, note=note)
        return NoteOutcome(incident, True, f"Noted on #{incident.number}", note)


def edit_note(note_ref: IncidentNote | UUID, actor: Actor, body: str) -> NoteOutcome:
    """Replace a note's text: its author only, within ``NOTE_EDIT_WINDOW_MINUTES``. The note
    keeps its place on the timeline and shows that it was edited."""
    text = clean_note_body(body)
    with transaction.atomic():
        incident, note = _lock_note(note_ref)
        now = timezone.now()
        check_may_change_note(incident, note, actor, now)
        if note.body == text:
            return NoteOutcome(incident, False, _("The note already says this."), note)
        note.body, note.edited_at = text, now
        note.save(update_fields=["body", "edited_at"])
        incident.save(update_fields=["updated_at"])
        announce(incident.pk, Kind.NOTE, actor, incident)
        return NoteOutcome(incident, True, _("Note saved."), note)


def delete_note(note_ref: IncidentNote | UUID, actor: Actor) -> NoteOutcome:
    """Take a note back: its author only, within ``NOTE_EDIT_WINDOW_MINUTES``. The note and
    its timeline entry go without a trace: a note taken back minutes after it was written is
    a mistake (the wrong incident, a pasted secret), not history."""
    with transaction.atomic():
        incident, note = _lock_note(note_ref)
        check_may_change_note(incident, note, actor, timezone.now())
        note.delete()  # its timeline entry too (TimelineEntry.note cascades)
        incident.save(update_fields=["updated_at"])
        announce(incident.pk, Kind.NOTE, actor, incident)
        return NoteOutcome(incident, True, _("Note deleted."), None)


def clean_note_body(body: str) -> str:
    """The note's text as stored: trimmed, with the characters a database cannot store (NUL,
    unpaired surrogates) replaced by U+FFFD; ``InvalidRequest`` when empty or too long."""
    text = _UNSTORABLE.sub("\ufffd", body if isinstance(body, str) else "").strip()
    if not text:
        raise InvalidRequest(_("A note needs some text."))
    if len(text) > MAX_NOTE_CHARS:
        raise InvalidRequest(
            _("A note is at most %(limit)s characters long; this one has %(count)s.")
            % {"limit": f"{MAX_NOTE_CHARS:,}", "count": f"{len(text):,}"}
        )
    return text


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _refuse_if_not_a_person(actor: Actor) -> None:
    if not actor.is_person:
        raise InvalidRequest("Notes are written by people.")


def _check_may_act(incident: Incident, actor: Actor) -> None:
    _refuse_if_not_a_person(actor)
    if not can_act_on_channel(actor.user, incident.channel_id):
        raise PermissionDenied("You are not a member of this incident's channel.")


def _note_of_message(incident: Incident, actor: Actor, origin: str) -> IncidentNote | None:
    return IncidentNote.objects.filter(
        incident=incident, source=actor.source, origin=origin
    ).first()


def _lock_note(note_ref: IncidentNote | UUID) -> tuple[Incident, IncidentNote]:
    """Lock the note's incident (every change of the incident and its notes is ordered by that
    lock), then read the note as it is now. ``IncidentNote.DoesNotExist`` when it is gone."""
    if isinstance(note_ref, IncidentNote):
        found = IncidentNote.objects.filter(pk=note_ref.pk)
    else:
        found = IncidentNote.objects.filter(public_id=note_ref)
    incident_id = found.values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise IncidentNote.DoesNotExist
    incident = _lock(incident_id)
    return incident, found.select_related("author").get(incident=incident)


def check_may_change_note(
    incident: Incident, note: IncidentNote, actor: Actor, now: datetime
) -> None:
    """Raise why ``actor`` may not edit or delete ``note`` now (``PermissionDenied``,
    ``NotYours``, ``EditWindowPassed``); pages ask it before offering the form."""
    _check_may_act(incident, actor)
    if note.author_id is None or note.author_id != _user_id(actor):
        raise NotYours(
            _("Only its author can change a note; this one is by %(name)s.")
            % {"name": display_name(note.author) if note.author_id else _("a deleted user")}
        )
    if now > note.editable_until:
        minutes = settings.NOTE_EDIT_WINDOW_MINUTES
        raise EditWindowPassed(
            ngettext(
                "Notes can be changed for %(minutes)s minute after they are written; this one "
                "was written at %(time)s.",
                "Notes can be changed for %(minutes)s minutes after they are written; this one "
                "was written at %(time)s.",
                minutes,
            )
            % {"minutes": minutes, "time": _when(note.created_at)},
            incident,
        )


# --- the transitions -------------------------------------------------------------------------
# Each takes the locked incident, mutates it, and returns (timeline kind, message, fields) for a
# change, or an unchanged Outcome; it raises TransitionRefused when the action is not possible.

Change = tuple[TimelineEntry.Kind, str, list[str]]
Step = Callable[[Incident, Actor, datetime], Change | Outcome]


def _claim(incident: Incident, actor: Actor, now: datetime) -> Change | Outcome:
    _refuse_if_closed(incident, "claim")
    if incident.status == Status.ACKNOWLEDGED:
        if incident.claimed_by_id == _user_id(actor):
            return Outcome(
                incident, False, f"Already claimed by you at {_when(incident.claimed_at)}"
            )
        verb = "claimed" if claimed_by_person(incident) else "acknowledged"
        raise TransitionRefused(
            f"Already {verb} by {claimer_name(incident)} at {_when(incident.claimed_at)}",
            incident,
        )
    incident.status = Status.ACKNOWLEDGED
    incident.claimed_by = actor.user
    incident.claimed_at = now
    incident.acknowledged_by_source = "" if actor.is_person else actor.name
    fields = ["status", "claimed_by", "claimed_at", "acknowledged_by_source"]
    if incident.snoozed_until:
        incident.snoozed_until = None
        fields.append("snoozed_until")
    # An alert source (PagerDuty's acknowledge) acknowledges; only a person claims.
    verb = "Claimed" if actor.is_person else "Acknowledged"
    return Kind.CLAIMED, f"{verb} by {actor.name}", fields


def _unclaim(incident: Incident, actor: Actor, now: datetime) -> Change | Outcome:
    _refuse_if_closed(incident, "unclaim")
    if incident.status != Status.ACKNOWLEDGED:
        raise TransitionRefused("Nobody has claimed this incident", incident)
    previous = claimer_name(incident)
    incident.status = Status.TRIGGERED
    incident.claimed_by = None
    incident.claimed_at = None
    incident.acknowledged_by_source = ""
    return (
        Kind.UNCLAIMED,
        f"Unclaimed by {actor.name} (was {previous})",
        [
            "status",
            "claimed_by",
            "claimed_at",
            "acknowledged_by_source",
        ],
    )


def _close(incident: Incident, actor: Actor, now: datetime, reason: str) -> Change | Outcome:
    if incident.status == Status.CLOSED:
        return Outcome(
            incident,
            False,
            f"Already closed by {_closer(incident)} at {_when(incident.closed_at)}",
        )
    incident.status = Status.CLOSED
    incident.closed_by = actor.user
    incident.closed_at = now
    incident.snoozed_until = None
    message = f"Closed by {actor.name}" + (f": {reason}" if reason else "")
    return Kind.CLOSED, message, ["status", "closed_by", "closed_at", "snoozed_until"]


def _reopen(incident: Incident, actor: Actor, now: datetime) -> Change | Outcome:
    if incident.status != Status.CLOSED:
        raise TransitionRefused(
            f"This incident is open ({incident.get_status_display()})", incident
        )
    incident.status = Status.TRIGGERED
    incident.closed_by = incident.claimed_by = None
    incident.closed_at = incident.claimed_at = None
    incident.acknowledged_by_source = ""
    return (
        Kind.REOPENED,
        f"Reopened by {actor.name}",
        [
            "status",
            "closed_by",
            "closed_at",
            "claimed_by",
            "claimed_at",
            "acknowledged_by_source",
        ],
    )


def _snooze(incident: Incident, actor: Actor, now: datetime, duration: timedelta) -> Change:
    _refuse_if_closed(incident, "snooze")
    incident.snoozed_until = now + duration
    _schedule_wake(incident)
    message = f"Snoozed by {actor.name} for {_humanize(duration)}"
    return Kind.SNOOZED, message, ["snoozed_until"]


def _wake(incident: Incident, actor: Actor, if_snoozed_until: datetime | None) -> Change | Outcome:
    if incident.snoozed_until is None:
        raise TransitionRefused("This incident is not snoozed", incident)
    if if_snoozed_until is not None and incident.snoozed_until != if_snoozed_until:
        return Outcome(incident, False, "The snooze was changed since this wake-up was planned")
    incident.snoozed_until = None
    message = f"Woken by {actor.name}" if actor.is_person else "Snooze ended"
    return Kind.WOKEN, message, ["snoozed_until"]


# --- the machinery ---------------------------------------------------------------------------


def _apply(ref: IncidentRef, actor: Actor, step: Step) -> Outcome:
    with transaction.atomic():
        incident = _lock(ref)
        if actor.is_person and not can_act_on_channel(actor.user, incident.channel_id):
            raise PermissionDenied("You are not a member of this incident's channel.")
        now = timezone.now()
        result = step(incident, actor, now)
        if isinstance(result, Outcome):
            return result
        kind, message, fields = result
        incident.save(update_fields=[*fields, "updated_at"])
        record(incident, kind, actor, message, at=now)
        _plan_escalation(incident, kind, now)
        return Outcome(incident, True, message)


def _plan_escalation(incident: Incident, kind: TimelineEntry.Kind, now: datetime) -> None:
    """A reopen escalates from level 1 again; any other change re-plans from the state."""
    if kind == Kind.REOPENED:
        escalation.plan_start(incident, now)
    else:
        escalation.plan_after_change(incident, now)


def _lock(ref: IncidentRef) -> Incident:
    # Only the channel is joined, and only the incident row is locked: PostgreSQL re-reads a
    # row it waited to lock but not the rows joined to it, so the claimer or closer (which a
    # concurrent action changes) must be read afterwards; the channel (whose name whoever
    # shows the outcome needs) is not something an action changes.
    queryset = Incident.objects.select_related("channel").select_for_update(of=("self",))
    if isinstance(ref, Incident):
        return queryset.get(pk=ref.pk)
    if isinstance(ref, UUID):
        return queryset.get(public_id=ref)
    return queryset.get(pk=ref)


def _refuse_if_closed(incident: Incident, action: str) -> None:
    if incident.status == Status.CLOSED:
        raise TransitionRefused(
            f"Cannot {action}: already closed by {_closer(incident)} at "
            f"{_when(incident.closed_at)}",
            incident,
        )


def _check_snooze_duration(duration: timedelta) -> None:
    longest = timedelta(minutes=settings.SNOOZE_MAX_MINUTES)
    if not timedelta(minutes=1) <= duration <= longest:
        raise InvalidRequest(f"A snooze lasts from 1 minute to {_humanize(longest)}")


def _schedule_wake(incident: Incident) -> None:
    from oncall.tasks import schedule_wake  # tasks import this module

    until = incident.snoozed_until
    transaction.on_commit(lambda: schedule_wake(incident.pk, until))


def _closer(incident: Incident) -> str:
    return display_name(incident.closed_by) if incident.closed_by_id else "the system"


def _user_id(actor: Actor) -> int | None:
    return actor.user.pk if actor.user else None


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "an unknown time"
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _humanize(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or "0 min"
