"""What a heartbeat does: record a ping, and notice the ping that did not come.

Both say what happened through the console's normal ingestion (``oncall.ingest.accept``), as a
push of this source would: the sweep hands it a :class:`~.schedule.Signal` "missing", the next
ping a ``Signal`` "back", and the source (``source.py``) turns either into the heartbeat's one
alert event (``schedule.event_of``). So routing, merging, incidents and escalation are the
usual ones, and the incident closes like any other.

No sender can push a signal: every request on a heartbeat's URL is a ping (see
``schedule.py``).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.sources.heartbeat.models import Heartbeat
from integrations.sources.heartbeat.schedule import KIND, Signal, schedule_of
from oncall import ingest
from oncall.models import AlertSource

# --- pings -------------------------------------------------------------------------------------


def record_ping_of(source_id: int, now: datetime | None = None) -> Heartbeat | None:
    """Store a ping of the source with this id (``None`` if it is gone)."""
    source = AlertSource.objects.filter(pk=source_id, kind=KIND).first()
    return record_ping(source, now) if source else None


def record_ping(source: AlertSource, now: datetime | None = None) -> Heartbeat:
    """Store a ping of ``source``; when the heartbeat was missing, recover its alert."""
    now = now or timezone.now()
    with transaction.atomic():
        heartbeat, _created = Heartbeat.objects.select_for_update().get_or_create(source=source)
        was_missing = heartbeat.missing_since is not None
        previous = heartbeat.last_ping_at
        Heartbeat.objects.filter(pk=heartbeat.pk).update(
            last_ping_at=now, pings=F("pings") + 1, missing_since=None
        )
        if was_missing and previous is not None:
            signal = Signal(False, source.name, schedule_of(source.options), previous, now)
            ingest.accept(source, signal.to_payload(), body_bytes=0)
    heartbeat.refresh_from_db()
    return heartbeat


# --- the sweep ---------------------------------------------------------------------------------


def sweep(now: datetime | None = None) -> int:
    """Open an incident for every heartbeat whose ping is overdue (interval plus grace) and
    that is not already missing. Returns how many it opened."""
    now = now or timezone.now()
    watched = Heartbeat.objects.filter(
        source__kind=KIND,
        source__enabled=True,
        last_ping_at__isnull=False,
        missing_since__isnull=True,
    ).select_related("source")
    overdue = [heartbeat.pk for heartbeat in watched.iterator() if _due(heartbeat) <= now]
    return sum(_declare_missing(pk, now) for pk in overdue)


def _due(heartbeat: Heartbeat) -> datetime:
    schedule = schedule_of(heartbeat.source.options)
    due = heartbeat.due_at(schedule.interval, schedule.grace)
    assert due is not None  # the sweep only looks at pinged heartbeats
    return due


def _declare_missing(pk: int, now: datetime) -> bool:
    """Mark one heartbeat missing and push its alert, unless a ping or another sweep got there
    first (the row is locked and looked at again)."""
    with transaction.atomic():
        heartbeat = (
            Heartbeat.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("source")
            .filter(pk=pk, missing_since__isnull=True, last_ping_at__isnull=False)
            .first()
        )
        if heartbeat is None or _due(heartbeat) > now:
            return False
        due = _due(heartbeat)
        heartbeat.missing_since = due
        heartbeat.save(update_fields=["missing_since"])
        source = heartbeat.source
        signal = Signal(True, source.name, schedule_of(source.options), heartbeat.last_ping_at, due)
        ingest.accept(source, signal.to_payload(), body_bytes=0)
    return True
