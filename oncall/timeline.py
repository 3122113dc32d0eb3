"""The one place that writes an incident's timeline and announces the change (to refresh
cards and pages: see ``oncall.signals``). The webhook events an entry stands for are written
with it, in the same transaction (``oncall.webhooks.outbox``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from oncall.models import ActionSource, Incident, IncidentNote, TimelineEntry
from oncall.signals import send_incident_changed
from oncall.timeline_messages import MESSAGES, Phrase, phrase
from oncall.webhooks import outbox

User = get_user_model()


@dataclass(frozen=True)
class Actor:
    """Who does something and from where. ``via`` records details such as a Feishu message id."""

    user: Any = None  # a User, or None for the system and alert sources
    source: str = ActionSource.SYSTEM  # or the name of a chat platform
    via: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def system(cls) -> Actor:
        return cls(None, ActionSource.SYSTEM)

    @property
    def is_person(self) -> bool:
        return self.user is not None

    @property
    def name(self) -> str:
        if self.user is None:
            return self.via.get("name") or str(self.source.label)
        return display_name(self.user)

    @property
    def said_name(self) -> Phrase | str:
        """The name as a timeline parameter: a person's or a sender's own name as it is, the
        console's own sources ("system") in each reader's language."""
        kind = f"actor.{self.source}"
        if self.user is None and not self.via.get("name") and kind in MESSAGES:
            return phrase(kind)
        return self.name


def display_name(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user else gettext("nobody")


def person_fields(user: Any) -> dict[str, Any]:
    """A person as answers (API, insights) name them: ``id``, ``username`` and ``name``."""
    return {"id": user.pk, "username": user.get_username(), "name": display_name(user)}


def claimer_name(incident: Incident) -> str:
    """Who holds a claimed incident: its person, or the alert source that acknowledged it
    (PagerDuty's ``acknowledge``)."""
    if incident.claimed_by_id:
        return display_name(incident.claimed_by)
    return incident.acknowledged_by_source or str(ActionSource.SYSTEM.label)


def claimed_by_person(incident: Incident) -> bool:
    return incident.claimed_by_id is not None


def record(
    incident: Incident,
    kind: TimelineEntry.Kind,
    actor: Actor,
    message: Phrase | str,
    *,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    note: IncidentNote | None = None,
) -> TimelineEntry:
    """Write one timeline entry and announce the change once the transaction commits.

    ``message`` is a :class:`~oncall.timeline_messages.Phrase`, shown in each reader's
    language; a plain string is stored as it is and shows alike to everyone."""
    entry = build(incident, kind, actor, message, data=data, at=at)
    entry.note = note
    entry.save()
    outbox.write_entries([entry])
    announce(incident.pk, kind, actor, incident)
    return entry


def record_many(entries: list[TimelineEntry], *, webhook_events: bool = True) -> None:
    """Write entries made with :func:`build` in one query and announce each change. Without
    ``webhook_events`` the caller writes the entries' webhook events itself (the merge, in
    order with its alerts' events)."""
    TimelineEntry.objects.bulk_create(entries)
    if webhook_events:
        outbox.write_entries(entries)
    # An incident created by these entries is announced once, as created: nothing was sent
    # about it before this transaction, so its other entries have nothing to refresh.
    created = {e.incident_id for e in entries if e.kind == TimelineEntry.Kind.CREATED}
    for entry in entries:
        if entry.kind == TimelineEntry.Kind.CREATED or entry.incident_id not in created:
            announce(entry.incident_id, entry.kind, Actor(entry.actor, entry.source))


def build(
    incident: Incident,
    kind: TimelineEntry.Kind,
    actor: Actor,
    message: Phrase | str,
    *,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TimelineEntry:
    """An unsaved entry, for callers that write many at once with :func:`record_many`."""
    said = message if isinstance(message, Phrase) else None
    return TimelineEntry(
        incident=incident,
        kind=kind,
        actor=actor.user,
        source=actor.source,
        # In English whatever the writer's language: see ``oncall.timeline_messages``.
        message=said.in_language("en") if said else message,
        message_kind=said.kind if said else "",
        params=said.stored()["params"] if said else {},
        data={**actor.via, **(data or {})},
        created_at=at or timezone.now(),
    )


def announce(incident_id: int, kind: str, actor: Actor, incident: Incident | None = None) -> None:
    actor_id = actor.user.pk if actor.user else None
    transaction.on_commit(
        lambda: send_incident_changed(
            Incident,
            incident_id=incident_id,
            incident=incident,
            kind=str(kind),
            actor_id=actor_id,
            source=str(actor.source),
        )
    )
