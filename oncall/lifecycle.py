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

``merge`` and ``split`` move alerts between incidents of one channel; they lock every incident
involved, and take ingestion's locks first (see "Merge and split" below).

Opening an incident by hand (``open_incident``) and assigning one (``assign_person``,
``assign_level``) follow the same rules; their semantics are described where they are defined.

Notes (``add_note``, ``edit_note``, ``delete_note``) follow the same steps: the incident row
is locked (so a note and a concurrent action are ordered), only people who may act on the
channel write notes, and only a note's author changes it, within ``NOTE_EDIT_WINDOW_MINUTES``
(``oncall.notes``). A note changes no state and plans no escalation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from oncall import escalation
from oncall.escalation_rules import first_enabled_rule, levels_of, rule_for, rule_of
from oncall.events import Severity
from oncall.models import Alert, Channel, EscalationRule, Incident, IncidentNote, TimelineEntry
from oncall.models.incidents import MANUAL_GROUP_PREFIX
from oncall.notes import MAX_NOTE_CHARS
from oncall.permissions import (
    can_act_on_channel,
    can_be_assigned,
    can_open_incident,
    may_act_on_incident_channel,
)
from oncall.platforms import LevelReport, describe_notified, notify_people
from oncall.timeline import Actor, announce, claimed_by_person, claimer_name, display_name, record
from oncall.timeline_messages import Phrase, phrase

Kind = TimelineEntry.Kind
Status = Incident.Status
NOT_A_MEMBER = gettext_lazy("You are not a member of this incident's channel.")


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
    # Whom an action that notifies people (an assignment) could not reach, with the reason.
    unreachable: tuple[str, ...] = ()


IncidentRef = Incident | int | UUID
AlertRef = Alert | int | UUID


def claim(ref: IncidentRef, actor: Actor) -> Outcome:
    """Acknowledge: the actor takes the incident; escalation stops. Ends a snooze."""
    return _apply(ref, actor, _claim)


def unclaim(ref: IncidentRef, actor: Actor) -> Outcome:
    """Give a claimed incident back: it is triggered again and escalation resumes."""
    return _apply(ref, actor, _unclaim)


def close(ref: IncidentRef, actor: Actor, *, reason: str = "", savepoint: bool = True) -> Outcome:
    """Close the incident (by hand, or by the system when every alert recovered).
    ``savepoint=False``: the caller's transaction goes down with any error of the close (the
    merge's does), so it needs no savepoint of its own, two round trips fewer."""
    return _apply(
        ref,
        actor,
        lambda incident, actor, now: _close(incident, actor, now, reason),
        savepoint=savepoint,
    )


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


# --- opening an incident by hand --------------------------------------------------------------
#
# A manual incident is an incident like any other, made of one alert: that alert has no alert
# source (``Alert.source`` is empty), takes the incident's title, description and severity,
# and is never touched by ingestion (whose look-ups are per source). The incident's group key
# is its own (``MANUAL_GROUP_PREFIX`` + its id), so no pushed alert ever joins it, and
# ``Incident.created_by`` names who opened it. Lists, cards, the API, escalation rules (whose
# matchers read the first alert) and closing therefore treat it as they treat every incident.

MANUAL_TITLE_MAX_CHARS = Incident._meta.get_field("title").max_length
MANUAL_DESCRIPTION_MAX_CHARS = 10_000
MANUAL_DEFAULT_SEVERITY = Severity.WARNING


def open_incident(
    channel: Channel,
    actor: Actor,
    *,
    title: str,
    description: str = "",
    severity: str = MANUAL_DEFAULT_SEVERITY,
    page: Sequence[Any] = (),
) -> Outcome:
    """Open an incident by hand in ``channel``: its escalation starts at level 1 of the
    channel's matching rule, as for an incident an alert opened, and the people in ``page``
    (members of the channel) are notified at once besides. Raises ``PermissionDenied`` for
    someone who is not a member of the channel and ``InvalidRequest`` for a title, severity or
    person to page that cannot be used; nothing is written then."""
    if not actor.is_person:
        raise InvalidRequest(_("Only a person opens an incident by hand"))
    if not can_open_incident(actor.user, channel.pk):
        raise PermissionDenied(_("You are not a member of this channel."))
    title, description = _checked_text(title, description)
    if severity not in Severity.values:
        raise InvalidRequest(
            _("Unknown severity “%(severity)s”: use %(known)s")
            % {"severity": severity, "known": ", ".join(Severity.values)}
        )
    paged = _checked_people(channel, page, _("paged about its incidents"))
    from oncall.merge import new_incident_number  # the merge imports this module

    with transaction.atomic():
        now = timezone.now()
        incident = Incident(
            number=new_incident_number(),
            channel=channel,
            title=title,
            severity=severity,
            created_by=actor.user,
            created_at=now,
            alert_count=1,
            last_alert_at=now,
        )
        incident.group_key = f"{MANUAL_GROUP_PREFIX}{incident.public_id}"
        incident.save()
        Alert.objects.create(
            channel=channel,
            source=None,
            incident=incident,
            alert_key=incident.group_key,
            title=title,
            description=description,
            severity=severity,
            raw_severity=severity,
            first_seen=now,
            last_seen=now,
        )
        record(
            incident, Kind.CREATED, actor, _by(actor, "created.by_person"), data={"manual": True}
        )
        escalation.plan_start(incident, now)
        if paged:
            report = notify_people(incident, paged, f"Paged by {actor.name}")
            message = phrase("paged", actor=actor.said_name, notified=describe_notified(report))
            record(incident, Kind.NOTIFIED, actor, message, data=_notified_data(paged, report))
    return Outcome(incident, True, _("Opened #%(number)s") % {"number": incident.number})


def _checked_text(title: str, description: str) -> tuple[str, str]:
    title = " ".join(str(title).split())  # one line: it heads cards and lists
    description = str(description).strip()
    if not title:
        raise InvalidRequest(_("Give the incident a title"))
    if len(title) > MANUAL_TITLE_MAX_CHARS:
        raise InvalidRequest(
            _("A title has at most %(count)s characters") % {"count": MANUAL_TITLE_MAX_CHARS}
        )
    if len(description) > MANUAL_DESCRIPTION_MAX_CHARS:
        raise InvalidRequest(
            _("A description has at most %(count)s characters")
            % {"count": MANUAL_DESCRIPTION_MAX_CHARS}
        )
    return title, description


def _checked_people(channel: Channel, people: Sequence[Any], purpose: str) -> list[Any]:
    """``people``, each once, when every one may act on the channel's incidents."""
    unique = list({person.pk: person for person in people}.values())
    outsiders = [p for p in unique if not can_be_assigned(p, channel.pk)]
    if outsiders:
        names = ", ".join(display_name(p) for p in outsiders)
        raise InvalidRequest(
            _(
                "Not a member of the channel %(channel)s: %(names)s. Only its members can be "
                "%(purpose)s."
            )
            % {"channel": channel.name, "names": names, "purpose": purpose}
        )
    return unique


def _notified_data(people: Sequence[Any], report: LevelReport) -> dict[str, Any]:
    """Whom an entry was about and whom it reached, by id too: insights count each person's
    notifications by ``notified_users``, as for escalation steps."""
    return {
        "people": [person.pk for person in people],
        "notified": report.notified,
        "notified_users": report.reached,
        "unreachable": report.unreachable,
    }


# --- assigning ---------------------------------------------------------------------------------
#
# As PagerDuty's "reassign": an incident is handed either to a person or to a level of one of
# its channel's escalation rules, and whoever it is handed to is notified at once.
#
# * To a person (``assign_person``): ``Incident.assigned_to`` names them and they alone are
#   notified from then on: the incident leaves its escalation rule (``escalation.leave_rule``),
#   so nobody else is paged if they do not claim it; a reopen or an assignment to a level
#   starts a rule again.
# * To a level (``assign_level``): the escalation moves to that rule and level, notifies it now
#   and goes on from there (its repeats, then the next levels); any assignee is cleared.
#
# Either way the incident must be open; a claim by anyone else than the new assignee is
# released (the incident is triggered again and waits for them to claim it, as a reassigned
# PagerDuty incident does), and a snooze ends: handing an incident over asks for action now.
# Only members of the channel may assign, and only members may be assigned.


def assign_person(ref: IncidentRef, actor: Actor, user: Any) -> Outcome:
    """Hand the incident to ``user`` and notify them now (see above)."""
    with transaction.atomic():
        incident = _lock_for(ref, actor)
        _refuse_if_closed(incident, "assign")
        _checked_people(incident.channel, [user], _("assigned its incidents"))
        name = display_name(user)
        held_by_other = incident.status == Status.ACKNOWLEDGED and incident.claimed_by_id != user.pk
        if incident.assigned_to_id == user.pk and not held_by_other and not incident.snoozed_until:
            return Outcome(incident, False, _("Already assigned to %(name)s") % {"name": name})
        now = timezone.now()
        released = _release_claim(incident) if held_by_other else ""
        incident.assigned_to, incident.assigned_at = user, now
        incident.snoozed_until = None
        incident.save(update_fields=[*_HANDOVER_FIELDS, "updated_at"])
        # Notified before the incident leaves its rule: a platform may deliver through what
        # the rule chose (its Feishu app).
        report = notify_people(incident, [user], f"Assigned to you by {actor.name}")
        escalation.leave_rule(incident)
        message = phrase(
            "assigned.person",
            person=name,
            actor=actor.said_name,
            released=released,
            notified=describe_notified(report),
        )
        data = {"assigned_to": user.pk, **_notified_data([user], report)}
        record(incident, Kind.ASSIGNED, actor, message, data=data, at=now)
        return Outcome(incident, True, str(message), tuple(report.unreachable))


def assign_level(
    ref: IncidentRef, actor: Actor, number: int, rule: EscalationRule | None = None
) -> Outcome:
    """Hand the incident to level ``number`` (from 1) of ``rule``: by default the rule that
    escalates it, else the channel's rule that matches it now, else its first enabled rule."""
    with transaction.atomic():
        incident = _lock_for(ref, actor)
        _refuse_if_closed(incident, "assign")
        rule = _rule_to_assign(incident, rule)
        count = len(levels_of(rule))
        if not 1 <= number <= count:
            raise InvalidRequest(
                _("“%(rule)s” has levels 1 to %(count)s; there is no level %(number)s")
                % {"rule": rule.name, "count": count, "number": number},
                incident,
            )
        now = timezone.now()
        released = _release_claim(incident) if incident.status == Status.ACKNOWLEDGED else ""
        incident.assigned_to, incident.assigned_at = None, None
        incident.snoozed_until = None
        incident.save(update_fields=[*_HANDOVER_FIELDS, "updated_at"])
        report = escalation.move_to_level(incident, rule, number - 1, now)
        message = phrase(
            "assigned.level",
            level=number,
            rule=rule.name,
            actor=actor.said_name,
            released=released,
            notified=describe_notified(report),
        )
        data = {
            "rule": str(rule.public_id),
            "level": number,
            "notified": report.notified,
            "notified_users": report.reached,
            "unreachable": report.unreachable,
        }
        record(incident, Kind.ASSIGNED, actor, message, data=data, at=now)
        return Outcome(incident, True, str(message), tuple(report.unreachable))


_HANDOVER_FIELDS = [
    "status",
    "claimed_by",
    "claimed_at",
    "acknowledged_by_source",
    "assigned_to",
    "assigned_at",
    "snoozed_until",
]


def _release_claim(incident: Incident) -> Phrase:
    """Give the claim back (the incident is triggered again); says whose it was."""
    kind = "released.claim" if claimed_by_person(incident) else "released.acknowledgement"
    previous = claimer_name(incident)
    incident.status = Status.TRIGGERED
    incident.claimed_by, incident.claimed_at = None, None
    incident.acknowledged_by_source = ""
    return phrase(kind, previous=previous)


def _rule_to_assign(incident: Incident, rule: EscalationRule | None) -> EscalationRule:
    if rule is not None:
        if rule.channel_id != incident.channel_id or not rule.enabled:
            raise InvalidRequest(
                _("“%(rule)s” is not an enabled escalation rule of the channel %(channel)s")
                % {"rule": rule.name, "channel": incident.channel.name},
                incident,
            )
        return rule
    # The locked row came with its channel (``_lock``): its kept rules, current for its
    # version, give all three choices without a query.
    channel = incident.channel
    chosen = (
        rule_of(channel, incident.escalation_rule_id)
        or rule_for(incident, channel=channel)
        or first_enabled_rule(channel)
    )
    if chosen is None:
        raise InvalidRequest(
            _("The channel %(channel)s has no enabled escalation rule")
            % {"channel": incident.channel.name},
            incident,
        )
    return chosen


# --- notes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteOutcome(Outcome):
    note: IncidentNote | None = None  # None once deleted


def add_note(ref: IncidentRef, actor: Actor, body: str) -> NoteOutcome:
    """Write a note on the incident, shown on its timeline. A note made from a chat message
    (``actor.via["message_id"]``) is made once however often the message is handled."""
    text = clean_note_body(body)
    with transaction.atomic():
        incident = _lock(ref)
        _check_may_note(incident, actor)
        origin = str(actor.via.get("message_id") or "")[:128]
        if origin and (noted := _note_of_message(incident, actor, origin)) is not None:
            said = _("Already noted on #%(number)s") % {"number": incident.number}
            return NoteOutcome(incident, False, said, note=noted)
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
        record(incident, Kind.NOTE, actor, _by(actor, "note"), at=now, note=note)
        said = _("Noted on #%(number)s") % {"number": incident.number}
        return NoteOutcome(incident, True, said, note=note)


def edit_note(note_ref: IncidentNote | UUID, actor: Actor, body: str) -> NoteOutcome:
    """Replace a note's text: its author only, within ``NOTE_EDIT_WINDOW_MINUTES``. The note
    keeps its place on the timeline and shows that it was edited."""
    text = clean_note_body(body)
    with transaction.atomic():
        incident, note = _lock_note(note_ref)
        now = timezone.now()
        check_may_change_note(incident, note, actor, now)
        if note.body == text:
            return NoteOutcome(incident, False, _("The note already says this."), note=note)
        note.body, note.edited_at = text, now
        note.save(update_fields=["body", "edited_at"])
        incident.save(update_fields=["updated_at"])
        announce(incident.pk, Kind.NOTE, actor, incident)
        return NoteOutcome(incident, True, _("Note saved."), note=note)


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
        return NoteOutcome(incident, True, _("Note deleted."), note=None)


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
        raise InvalidRequest(_("Notes are written by people."))


def _check_may_note(incident: Incident, actor: Actor) -> None:
    _refuse_if_not_a_person(actor)
    _check_may_act(actor, [incident])


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
    _check_may_note(incident, actor)
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

Change = tuple[TimelineEntry.Kind, Phrase, list[str]]
Step = Callable[[Incident, Actor, datetime], Change | Outcome]


def _claim(incident: Incident, actor: Actor, now: datetime) -> Change | Outcome:
    _refuse_if_closed(incident, "claim")
    if incident.status == Status.ACKNOWLEDGED:
        if incident.claimed_by_id == _user_id(actor):
            said = _("Already claimed by you at %(when)s") % {"when": _when(incident.claimed_at)}
            return Outcome(incident, False, said)
        refusal = (
            _("Already claimed by %(name)s at %(when)s")
            if claimed_by_person(incident)
            else _("Already acknowledged by %(name)s at %(when)s")
        )
        raise TransitionRefused(
            refusal % {"name": claimer_name(incident), "when": _when(incident.claimed_at)},
            incident,
        )
    incident.status = Status.ACKNOWLEDGED
    incident.claimed_by = actor.user
    incident.claimed_at = now
    incident.acknowledged_by_source = "" if actor.is_person else actor.name
    fields = ["status", "claimed_by", "claimed_at", "acknowledged_by_source"]
    if incident.first_claimed_at is None:  # time to acknowledge counts to the first claim
        incident.first_claimed_at = now
        fields.append("first_claimed_at")
    if incident.snoozed_until:
        incident.snoozed_until = None
        fields.append("snoozed_until")
    # An alert source (PagerDuty's acknowledge) acknowledges; only a person claims.
    said = _by(actor, "claimed" if actor.is_person else "acknowledged")
    return Kind.CLAIMED, said, fields


def _unclaim(incident: Incident, actor: Actor, now: datetime) -> Change | Outcome:
    _refuse_if_closed(incident, "unclaim")
    if incident.status != Status.ACKNOWLEDGED:
        raise TransitionRefused(_("Nobody has claimed this incident"), incident)
    previous = claimer_name(incident)
    incident.status = Status.TRIGGERED
    incident.claimed_by = None
    incident.claimed_at = None
    incident.acknowledged_by_source = ""
    return (
        Kind.UNCLAIMED,
        phrase("unclaimed", actor=actor.said_name, previous=previous),
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
            _("Already closed by %(name)s at %(when)s")
            % {"name": _closer(incident), "when": _when(incident.closed_at)},
        )
    incident.status = Status.CLOSED
    incident.closed_by = actor.user
    incident.closed_at = now
    incident.snoozed_until = None
    message = (
        phrase("closed.reason", actor=actor.said_name, reason=reason)
        if reason
        else _by(actor, "closed")
    )
    return Kind.CLOSED, message, ["status", "closed_by", "closed_at", "snoozed_until"]


def _reopen(incident: Incident, actor: Actor, now: datetime) -> Change | Outcome:
    if incident.status != Status.CLOSED:
        raise TransitionRefused(
            _("This incident is open (%(status)s)") % {"status": incident.get_status_display()},
            incident,
        )
    if incident.is_merged:
        # Its alerts live on in the incident it was merged into; reopened, it would escalate
        # with nothing in it. Splitting an alert out of the target is the way back.
        raise TransitionRefused(
            _(
                "Cannot reopen: merged into #%(number)s, which holds its alerts now (split an "
                "alert out of it to handle it apart)"
            )
            % {"number": incident.merged_into.number},
            incident,
        )
    incident.status = Status.TRIGGERED
    incident.closed_by = incident.claimed_by = None
    incident.closed_at = incident.claimed_at = None
    incident.acknowledged_by_source = ""
    # A reopen escalates from level 1 of its rule again: nobody holds it by assignment.
    incident.assigned_to, incident.assigned_at = None, None
    return (
        Kind.REOPENED,
        _by(actor, "reopened"),
        [
            "status",
            "closed_by",
            "closed_at",
            "claimed_by",
            "claimed_at",
            "acknowledged_by_source",
            "assigned_to",
            "assigned_at",
        ],
    )


def _snooze(incident: Incident, actor: Actor, now: datetime, duration: timedelta) -> Change:
    _refuse_if_closed(incident, "snooze")
    incident.snoozed_until = now + duration
    _schedule_wake(incident)
    message = phrase("snoozed", actor=actor.said_name, duration=_duration_phrase(duration))
    return Kind.SNOOZED, message, ["snoozed_until"]


def _wake(incident: Incident, actor: Actor, if_snoozed_until: datetime | None) -> Change | Outcome:
    if incident.snoozed_until is None:
        raise TransitionRefused(_("This incident is not snoozed"), incident)
    if if_snoozed_until is not None and incident.snoozed_until != if_snoozed_until:
        return Outcome(incident, False, _("The snooze was changed since this wake-up was planned"))
    incident.snoozed_until = None
    message = _by(actor, "woken") if actor.is_person else phrase("woken.snooze_ended")
    return Kind.WOKEN, message, ["snoozed_until"]


# --- the machinery ---------------------------------------------------------------------------


def _apply(ref: IncidentRef, actor: Actor, step: Step, *, savepoint: bool = True) -> Outcome:
    with transaction.atomic(savepoint=savepoint):
        incident = _lock_for(ref, actor)
        now = timezone.now()
        result = step(incident, actor, now)
        if isinstance(result, Outcome):
            return result
        kind, message, fields = result
        # A reopen escalates from level 1 again (planned after its entry); any other change
        # re-plans from the state, written with the change in one UPDATE.
        replanned = kind != Kind.REOPENED and escalation.replan_after_change(incident, now)
        escalation_fields = escalation.ESCALATION_FIELDS if replanned else []
        incident.save(update_fields=[*fields, "updated_at", *escalation_fields])
        record(incident, kind, actor, message, at=now)
        if kind == Kind.REOPENED:
            escalation.plan_start(incident, now)
        elif replanned:
            escalation.schedule(incident)
        return Outcome(incident, True, str(message))


def _lock_for(ref: IncidentRef, actor: Actor) -> Incident:
    """The incident, locked, once the actor is known to be allowed to act on it. A person's
    permission is read with the row (``_check_may_act``'s rule as an annotation): one query."""
    if not actor.is_person:
        return _lock(ref)
    incident = _lock(ref, may_act=may_act_on_incident_channel(actor.user))
    if not incident.actor_may_act:
        raise PermissionDenied(NOT_A_MEMBER)
    return incident


def _lock(ref: IncidentRef, *, may_act: Q | Value | None = None) -> Incident:
    # Only the channel is joined, and only the incident row is locked: PostgreSQL re-reads a
    # row it waited to lock but not the rows joined to it, so the claimer or closer (which a
    # concurrent action changes) must be read afterwards; the channel (whose name whoever
    # shows the outcome needs) is not something an action changes. Nor is a membership, which
    # ``may_act`` reads (as ``actor_may_act``) in the same statement.
    queryset = Incident.objects.select_related("channel").select_for_update(of=("self",))
    if may_act is not None:
        queryset = queryset.annotate(
            actor_may_act=ExpressionWrapper(may_act, output_field=BooleanField())
        )
    if isinstance(ref, Incident):
        return queryset.get(pk=ref.pk)
    if isinstance(ref, UUID):
        return queryset.get(public_id=ref)
    return queryset.get(pk=ref)


# What ``_refuse_if_closed`` says an action was, in the refusal ("Cannot snooze: ...").
REFUSED_ACTIONS = {
    "claim": pgettext_lazy("refused action", "claim"),
    "unclaim": pgettext_lazy("refused action", "unclaim"),
    "snooze": pgettext_lazy("refused action", "snooze"),
    "assign": pgettext_lazy("refused action", "assign"),
}


def _refuse_if_closed(incident: Incident, action: str) -> None:
    said = REFUSED_ACTIONS[action]
    if incident.is_merged:
        raise TransitionRefused(
            _("Cannot %(action)s: merged into #%(number)s")
            % {"action": said, "number": incident.merged_into.number},
            incident,
        )
    if incident.status == Status.CLOSED:
        raise TransitionRefused(
            _("Cannot %(action)s: already closed by %(name)s at %(when)s")
            % {"action": said, "name": _closer(incident), "when": _when(incident.closed_at)},
            incident,
        )


def _check_snooze_duration(duration: timedelta) -> None:
    longest = timedelta(minutes=settings.SNOOZE_MAX_MINUTES)
    if not timedelta(minutes=1) <= duration <= longest:
        raise InvalidRequest(
            _("A snooze lasts from 1 minute to %(longest)s") % {"longest": _humanize(longest)}
        )


def _schedule_wake(incident: Incident) -> None:
    from oncall.tasks import schedule_wake  # tasks import this module

    until = incident.snoozed_until
    transaction.on_commit(lambda: schedule_wake(incident.pk, until))


def _closer(incident: Incident) -> str:
    return display_name(incident.closed_by) if incident.closed_by_id else _("the system")


def _user_id(actor: Actor) -> int | None:
    return actor.user.pk if actor.user else None


def _when(moment: datetime | None) -> str:
    if moment is None:
        return _("an unknown time")
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _humanize(duration: timedelta) -> str:
    return str(_duration_phrase(duration))


# --- Merge and split -------------------------------------------------------------------------
#
# Both move alert rows between incidents, which ingestion (``oncall.merge.Merger``) also reads
# and changes under its advisory locks: one per alert identity, then one per grouping key. So
# they take the same locks in the same order (every alert they move, then the group of every
# incident involved), and only then the incident rows, by id. A batch with an event of a moved
# alert thus runs wholly before the move or wholly after it, and after it finds the alert in
# the incident it moved to: its future events land there. Which alerts to lock is read before
# the locks are held; when, under the locks, an incident turns out to hold an alert that was
# not locked (a batch added it meanwhile), the transaction is rolled back and tried again:
# taking that lock now, out of order, could deadlock with a batch.
#
# Only incidents of one channel merge: an alert belongs to its channel (its identity, who may
# see it, which escalation rules apply are the channel's), and an incident shows its channel's
# alerts to its channel's members only.
#
# A merged incident is closed with ``merged_into`` set, holds no alerts and cannot be reopened.
# Ingestion joins a new alert only to an open incident of its group, so a new alert of a merged
# incident's group opens an incident of its own, as after any close; the target keeps grouping
# by its own key. A split-out alert's new incident has a grouping key of its own
# (``split:<alert>``): new alerts of the group keep joining the incident it left.

MERGE_ATTEMPTS = 5
# The timeline names the alerts moved; a storm's thousands are counted, the first ones named.
TIMELINE_ALERTS_NAMED = 100


class _LocksOutdated(Exception):
    """The alerts to lock changed between reading them and holding the locks: start again."""


def merge(target_ref: IncidentRef, source_refs: Iterable[IncidentRef], actor: Actor) -> Outcome:
    """Move every alert of the ``source_refs`` incidents into ``target_ref``. Each source is
    closed as merged into the target (its escalation stops); the target takes the most urgent
    severity, counts the alerts and keeps its own state and escalation plan. Both timelines
    record it. Refused: merging an incident into itself or across channels, a closed source,
    a closed target. Sources already merged into the target change nothing."""
    target_pk = _incident_pk(target_ref)
    source_pks = sorted({_incident_pk(ref) for ref in source_refs})
    if not source_pks:
        raise InvalidRequest(_("Choose at least one incident to merge."))
    if target_pk in source_pks:
        raise InvalidRequest(_("An incident cannot be merged into itself."))
    return _retrying(lambda: _merge(target_pk, source_pks, actor))


def split(alert_ref: AlertRef, actor: Actor) -> Outcome:
    """Move one alert out of its incident into a new incident of the channel, which escalates
    like any new one; ``outcome.incident`` is the new incident. Both timelines record it.
    Refused for the only alert of an incident and for an alert of a closed incident."""
    alert_pk = _alert_pk(alert_ref)
    return _retrying(lambda: _split(alert_pk, actor))


def _retrying(attempt: Callable[[], Outcome]) -> Outcome:
    for _attempt in range(MERGE_ATTEMPTS):
        try:
            with transaction.atomic():
                return attempt()
        except _LocksOutdated:
            continue
    raise TransitionRefused(_("Alerts keep arriving for these incidents: try again in a moment."))


def _merge(target_pk: int, source_pks: list[int], actor: Actor) -> Outcome:
    locked_alerts = _lock_alerts_and_groups(source_pks, [target_pk, *source_pks])
    incidents = _lock_all([target_pk, *source_pks])
    target = incidents[target_pk]
    _check_may_act(actor, incidents.values())
    _check_one_channel(target, [incidents[pk] for pk in source_pks])
    if not target.is_open:
        raise TransitionRefused(
            _("Cannot merge into #%(number)s: %(why)s")
            % {"number": target.number, "why": _why_closed(target)},
            target,
        )
    sources = [incidents[pk] for pk in source_pks if incidents[pk].merged_into_id != target.pk]
    if not sources:
        numbers = _numbers(incidents[pk] for pk in source_pks)
        said = _("%(numbers)s already merged into #%(number)s")
        return Outcome(target, False, said % {"numbers": numbers, "number": target.number})
    for source in sources:
        if not source.is_open:
            raise TransitionRefused(
                _("Cannot merge #%(number)s: %(why)s")
                % {"number": source.number, "why": _why_closed(source)},
                target,
            )
    moved = _alerts_under_locks([s.pk for s in sources], locked_alerts)
    now = timezone.now()
    Alert.objects.filter(incident__in=[s.pk for s in sources]).update(incident=target)
    for source in sources:
        _close_as_merged(source, target, actor, now, moved.get(source.pk, []))
    _absorb(target, sources, actor, now, moved)
    count = sum(len(ids) for ids in moved.values())
    return Outcome(
        target,
        True,
        _("Merged %(numbers)s into #%(number)s (%(moved)s)")
        % {"numbers": _numbers(sources), "number": target.number, "moved": _alerts_moved(count)},
    )


def _close_as_merged(
    source: Incident, target: Incident, actor: Actor, now: datetime, alert_ids: list[str]
) -> None:
    source.status = Status.CLOSED
    source.closed_by = actor.user
    source.closed_at = now
    source.snoozed_until = None
    source.merged_into = target
    source.alert_count = 0
    source.save(
        update_fields=[
            "status",
            "closed_by",
            "closed_at",
            "snoozed_until",
            "merged_into",
            "alert_count",
            "updated_at",
        ]
    )
    record(
        source,
        Kind.MERGED_INTO,
        actor,
        phrase(
            "merged_into",
            number=target.number,
            actor=actor.said_name,
            moved=_alerts_moved(len(alert_ids)),
        ),
        data={
            "into": target.number,
            "into_incident": str(target.public_id),
            **_named_alerts(alert_ids),
        },
        at=now,
    )
    escalation.plan_after_change(source, now)  # closed: its planned step is dropped


def _absorb(
    target: Incident,
    sources: list[Incident],
    actor: Actor,
    now: datetime,
    moved: dict[int, list[str]],
) -> None:
    """The target after the move: as urgent as the most urgent incident merged, its alerts
    counted again, its last alert the latest of all."""
    target.severity = Severity.most_urgent(target.severity, *(s.severity for s in sources))
    target.alert_count = target.alerts.count()
    latest = [i.last_alert_at for i in (target, *sources) if i.last_alert_at is not None]
    target.last_alert_at = max(latest, default=None)
    target.save(update_fields=["severity", "alert_count", "last_alert_at", "updated_at"])
    alert_ids = [alert for source in sources for alert in moved.get(source.pk, [])]
    record(
        target,
        Kind.MERGED,
        actor,
        phrase(
            "merged",
            numbers=_numbers(sources),
            actor=actor.said_name,
            moved=_alerts_moved(len(alert_ids)),
        ),
        data={
            "merged": [s.number for s in sources],
            "incidents": [str(s.public_id) for s in sources],
            **_named_alerts(alert_ids),
        },
        at=now,
    )
    escalation.plan_after_change(target, now)


def _split(alert_pk: int, actor: Actor) -> Outcome:
    incident_pk = Alert.objects.values_list("incident_id", flat=True).get(pk=alert_pk)
    if incident_pk is None:
        raise InvalidRequest(_("This alert was suppressed: it belongs to no incident to split."))
    _lock_alerts_and_groups([incident_pk], [incident_pk], only_alert=alert_pk)
    incident = _lock_all([incident_pk])[incident_pk]
    alert = Alert.objects.get(pk=alert_pk)
    if alert.incident_id != incident_pk:
        raise _LocksOutdated  # moved (merged, split) since it was read
    _check_may_act(actor, [incident])
    if not incident.is_open:
        raise TransitionRefused(
            _("Cannot split an alert of #%(number)s: %(why)s")
            % {"number": incident.number, "why": _why_closed(incident)},
            incident,
        )
    remaining = list(incident.alerts.exclude(pk=alert.pk).values_list("severity", "first_seen"))
    if not remaining:
        raise TransitionRefused(
            _("Cannot split: this is the only alert of #%(number)s") % {"number": incident.number},
            incident,
        )
    now = timezone.now()
    new = _incident_for_split(incident, alert, now)
    Alert.objects.filter(pk=alert.pk).update(incident=new)
    incident.severity = Severity.most_urgent(*(severity for severity, _ in remaining))
    incident.alert_count = len(remaining)
    incident.last_alert_at = max(first_seen for _, first_seen in remaining)
    incident.save(update_fields=["severity", "alert_count", "last_alert_at", "updated_at"])
    data = {"alert": str(alert.public_id)}
    record(
        new,
        Kind.CREATED,
        actor,
        phrase("created.split", actor=actor.said_name, alert=alert.title, number=incident.number),
        data={**data, "split_from": incident.number, "from_incident": str(incident.public_id)},
        at=now,
    )
    record(
        incident,
        Kind.SPLIT,
        actor,
        phrase("split", alert=alert.title, number=new.number, actor=actor.said_name),
        data={**data, "split_into": new.number, "into_incident": str(new.public_id)},
        at=now,
    )
    escalation.plan_after_change(incident, now)
    escalation.plan_start(new, now)  # a person is waiting: level 1 goes to a task
    said = _("Alert “%(title)s” split out of #%(number)s into #%(new)s")
    return Outcome(
        new, True, said % {"title": alert.title, "number": incident.number, "new": new.number}
    )


def _incident_for_split(incident: Incident, alert: Alert, now: datetime) -> Incident:
    from oncall.merge import new_incident_number  # the merge imports this module

    return Incident.objects.create(
        number=new_incident_number(),
        channel=incident.channel,
        title=alert.title,
        severity=alert.severity,
        group_key=f"split:{alert.public_id.hex}",
        created_at=now,
        alert_count=1,
        last_alert_at=alert.first_seen,
    )


# --- Merge and split: locks and checks -------------------------------------------------------


def _lock_alerts_and_groups(
    moving_from: list[int], involved: list[int], *, only_alert: int | None = None
) -> set[str]:
    """Ingestion's advisory locks, in its order: the alerts that will move (those of the
    ``moving_from`` incidents, or only ``only_alert``), then the groups of the ``involved``
    incidents. Returns the names of the alert locks taken."""
    from oncall.merge import advisory_lock, alert_lock, group_lock

    alerts = Alert.objects.filter(incident__in=moving_from)
    if only_alert is not None:
        alerts = alerts.filter(pk=only_alert)
    names = {alert_lock(*identity) for identity in _identities(alerts)}
    advisory_lock(names)
    groups = Incident.objects.filter(pk__in=involved).values_list("channel_id", "group_key")
    advisory_lock(group_lock(channel_id, key) for channel_id, key in groups)
    return names


def _alerts_under_locks(incident_pks: list[int], locked: set[str]) -> dict[int, list[str]]:
    """The public ids of the incidents' alerts, by incident, read with every lock held;
    ``_LocksOutdated`` when one of them was not locked (it arrived after the first read)."""
    from oncall.merge import alert_lock

    rows = Alert.objects.filter(incident__in=incident_pks).order_by("first_seen", "pk")
    found: dict[int, list[str]] = {}
    for incident_id, public_id, *identity in rows.values_list(
        "incident_id", "public_id", "channel_id", "source_id", "alert_key"
    ):
        if alert_lock(*identity) not in locked:
            raise _LocksOutdated
        found.setdefault(incident_id, []).append(str(public_id))
    return found


def _identities(alerts: QuerySet[Alert]) -> list[tuple[int, int | None, str]]:
    return list(alerts.values_list("channel_id", "source_id", "alert_key"))


def _lock_all(pks: list[int]) -> dict[int, Incident]:
    """Lock the incident rows in id order (every merge and split does, so two never wait
    for each other in a circle)."""
    rows = (
        Incident.objects.select_related("channel", "merged_into")
        .select_for_update(of=("self",))
        .filter(pk__in=sorted(set(pks)))
        .order_by("pk")
    )
    locked = {incident.pk: incident for incident in rows}
    for pk in pks:
        if pk not in locked:
            raise Incident.DoesNotExist(f"No incident with id {pk}")
    return locked


def _check_may_act(actor: Actor, incidents: Iterable[Incident]) -> None:
    """Every action's permission check: a person must be able to act on the channel of each
    incident involved (``oncall.permissions``); the system and alert sources may."""
    if not actor.is_person:
        return
    for channel_id in sorted({incident.channel_id for incident in incidents}):
        if not can_act_on_channel(actor.user, channel_id):
            raise PermissionDenied(NOT_A_MEMBER)


def _check_one_channel(target: Incident, sources: list[Incident]) -> None:
    for source in sources:
        if source.channel_id != target.channel_id:
            raise InvalidRequest(
                _(
                    "#%(number)s belongs to the channel %(channel)s and #%(target)s to "
                    "%(target_channel)s: only incidents of one channel can be merged."
                )
                % {
                    "number": source.number,
                    "channel": source.channel.name,
                    "target": target.number,
                    "target_channel": target.channel.name,
                },
                target,
            )


def _why_closed(incident: Incident) -> str:
    if incident.is_merged:
        return _("it was merged into #%(number)s") % {"number": incident.merged_into.number}
    return _("it was closed by %(name)s at %(when)s") % {
        "name": _closer(incident),
        "when": _when(incident.closed_at),
    }


def _incident_pk(ref: IncidentRef) -> int:
    if isinstance(ref, Incident):
        return ref.pk
    if isinstance(ref, UUID):
        return Incident.objects.values_list("pk", flat=True).get(public_id=ref)
    return int(ref)


def _alert_pk(ref: AlertRef) -> int:
    if isinstance(ref, Alert):
        return ref.pk
    if isinstance(ref, UUID):
        return Alert.objects.values_list("pk", flat=True).get(public_id=ref)
    return int(ref)


def _numbers(incidents: Iterable[Incident]) -> str:
    return ", ".join(f"#{incident.number}" for incident in incidents)


def _alerts_moved(count: int) -> Phrase:
    return phrase("moved.one" if count == 1 else "moved.many", count=count)


def _by(actor: Actor, kind: str) -> Phrase:
    return phrase(kind, actor=actor.said_name)


def _duration_phrase(duration: timedelta) -> Phrase:
    """A snooze's length as ``_humanize`` says it, in the reader's language."""
    hours, minutes = divmod(int(duration.total_seconds() // 60), 60)
    if hours and minutes:
        return phrase("duration.hours_minutes", hours=hours, minutes=minutes)
    if hours:
        return phrase("duration.hours", hours=hours)
    return phrase("duration.minutes", minutes=minutes)


def _named_alerts(alert_ids: list[str]) -> dict[str, Any]:
    return {"alerts": alert_ids[:TIMELINE_ALERTS_NAMED], "alert_count": len(alert_ids)}
