"""Changes: record what change sources push, and find the changes before an incident.

``accept`` runs in the push request of a change source (``oncall.change_events`` says how change
kinds fit the source contract). A change is one row per channel and key, written in the request
itself: it is one small upsert, nothing waits on it, and no incident is touched, so there is no
worker step to hand it to. The push is also recorded as a processed ``InboundEvent`` (its notes
say what was recorded), so the source's recent pushes show it like any other.

Repeat events with the same key update the change: its latest status, labels and time, and (unless
the kind keeps its first text, as Jira's does) its title, description and link. An event older
than the change's latest (delayed or delivered again) changes nothing but the count and, if it is
the earliest, the change's start.

``changes_before(incident)``: the changes of its channel, or carrying a ``service`` label one of
its alerts carries, that had begun when it opened and were last heard of within
``CHANGE_LOOKBACK_MINUTES`` before that. A deployment that started 40 minutes before and
finished after the incident opened counts; a change ticket planned yesterday and untouched
since does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone

from oncall.change_events import ChangeAcceptResult, ChangeRecord, ChangeSourceKind
from oncall.models import Alert, AlertSource, ChangeEvent, InboundEvent, Incident
from oncall.routing import RoutingTable
from oncall.sources import PushRequest

# An incident shows at most this many changes; the channel's change list has the rest.
MAX_CHANGES_SHOWN = 20
SERVICE_LABEL = "service"


def accept(
    source: AlertSource,
    kind: ChangeSourceKind,
    payload: Any,
    *,
    body_bytes: int,
    edge_notes: Sequence[str] = (),
    push: PushRequest | None = None,
) -> ChangeAcceptResult:
    """Parse, route and record a change push. Raises ``PayloadError`` (or the kind's
    ``SourceRefused``); records nothing then."""
    push = push or PushRequest.of_source(source)
    records = kind.parse_changes_push(payload, push)
    table = RoutingTable.load(source)
    routed = [(record, table.channels_for_change(record)) for record in records]
    unrouted = [record.change_key for record, channel_ids in routed if not channel_ids]
    notes = [*edge_notes, *_notes(records, unrouted)]
    now = timezone.now()
    with transaction.atomic():
        for record, channel_ids in routed:
            for channel_id in channel_ids:
                _record(source, channel_id, record, now)
        inbound = InboundEvent.objects.create(
            source=source,
            received_at=now,
            status=InboundEvent.Status.UNROUTED if unrouted else InboundEvent.Status.PROCESSED,
            events=[],  # alert events only: a change is never merged into an incident
            notes=notes,
            body_bytes=body_bytes,
            processed_at=now,
        )
    return ChangeAcceptResult(
        request_id=str(inbound.request_id), changes=records, unrouted=unrouted, notes=notes
    )


def _notes(records: list[ChangeRecord], unrouted: list[str]) -> list[str]:
    if not records:
        return ["The payload holds no change to record."]
    notes = [f"{len(records)} change(s): {', '.join(r.change_key for r in records[:10])}"]
    if unrouted:
        notes.append(
            f"{len(unrouted)} change(s) matched no route and the source has no default "
            f"route: {', '.join(unrouted[:10])}"
        )
    return notes


def _record(source: AlertSource, channel_id: int, record: ChangeRecord, now: datetime) -> None:
    """Create the change, or update it under a row lock (two pushes of one key in a race)."""
    at = record.event_time or now
    change, created = ChangeEvent.objects.select_for_update().get_or_create(
        source=source,
        channel_id=channel_id,
        change_key=record.change_key,
        defaults={
            **_text(record),
            **_state(record, at),
            "started_at": at,
            "received_at": now,
            "updated_at": now,
        },
    )
    if created:
        return
    change.event_count += 1
    change.updated_at = now
    change.started_at = min(change.started_at, at)
    if at >= change.changed_at:
        for name, value in _state(record, at).items():
            setattr(change, name, value)
        if not record.keep_first_text:
            for name, value in _text(record).items():
                setattr(change, name, value)
    change.save()


def _text(record: ChangeRecord) -> dict[str, Any]:
    return {"title": record.title, "description": record.description, "link": record.link}


def _state(record: ChangeRecord, at: datetime) -> dict[str, Any]:
    return {"status": record.status, "labels": record.labels, "changed_at": at}


# --- Reading -----------------------------------------------------------------------------------


def changes_before(incident: Incident, *, limit: int = MAX_CHANGES_SHOWN) -> list[ChangeEvent]:
    """The changes under way in the look-back window before ``incident`` opened (see the module
    docstring), latest first; a change routed to several of the matching channels once."""
    if incident.pk is None:  # an example incident (the admin's test card)
        return []
    opened = incident.created_at
    window_start = opened - timedelta(minutes=settings.CHANGE_LOOKBACK_MINUTES)
    # One query: the services of its alerts are a subquery (a storm can have thousands).
    services = (
        Alert.objects.filter(incident=incident, **{f"labels__{SERVICE_LABEL}__isnull": False})
        .values(f"labels__{SERVICE_LABEL}")
        .order_by()
    )
    scope = Q(channel_id=incident.channel_id) | Q(
        **{f"labels__{SERVICE_LABEL}__in": Subquery(services)}
    )
    found = (
        ChangeEvent.objects.filter(scope, started_at__lte=opened, changed_at__gte=window_start)
        .select_related("source", "channel")
        .order_by("-changed_at", "-id")
    )
    shown, seen = [], set()
    for change in found[: limit * 2]:
        identity = (change.source_id, change.change_key)
        if identity not in seen:
            seen.add(identity)
            shown.append(change)
    return shown[:limit]


def channel_changes(
    channel_ids: Any, *, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[ChangeEvent]:
    """The changes of these channels (ids or a queryset of them) last heard of within
    ``[since, until]``, latest first."""
    changes = ChangeEvent.objects.filter(channel__in=channel_ids)
    if since is not None:
        changes = changes.filter(changed_at__gte=since)
    if until is not None:
        changes = changes.filter(changed_at__lte=until)
    return changes.select_related("source", "channel").order_by("-changed_at", "-id")
