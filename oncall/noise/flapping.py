"""Flapping: an alert key that keeps triggering and recovering marks its incident flapping.

Per channel (``Channel.flapping``): off; mark only; or mark and stop notifying after the first
(``quiet``). An identity (channel, source, alert key) *triggers* when it starts firing: a new
alert, or one firing again after it recovered. Its trigger times within the channel's
``flapping_minutes`` are kept in a :class:`FlapState` row; when they number more than
``flapping_times`` (so it recovered that many times in between), the incident of the latest
trigger is marked (``Incident.flapping_since``) and its timeline says so. Quiet: the incident
notifies nobody from then on (``Incident.flapping_quiet``, which the escalation's one gate
reads): a new incident of a flapping key is opened without notifying, the key's first incident
having notified already, and an open one stops escalating. Either way the escalation is
re-planned as after any change (``escalation.plan_after_change``), on the locked row.

When flapping ends. Every minute (:func:`settle`) each open incident marked flapping is looked
at again: its flapping has ended when none of its alerts' identities triggered more than
``flapping_times`` times within the last ``flapping_minutes`` (or the channel stopped
watching). Its marks are then cleared, its timeline says so, and its escalation is re-planned
like after a wake: a quiet incident still open and unclaimed notifies its last notified level
again (or its first, if it never notified). A key that flaps again marks it again.

Cost. Nothing for channels that do not watch. Otherwise one query reads the batch's states and
one or two write them, at the end of the batch, for the identities that triggered in it. The
minute's look at marked incidents costs a few queries per open flapping incident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from oncall.timeline_messages import Phrase, phrase

if TYPE_CHECKING:
    from oncall.models import Alert, Channel, FlapState, Incident

Identity = tuple[int, int | None, str]
PURGE_AFTER = timedelta(days=1)
SETTLE_BATCH = 200
# What a change of the flapping marks re-reads, on the locked row, before re-planning the
# escalation: the state the escalation's gate and planning look at.
ESCALATION_STATE = [
    "status",
    "snoozed_until",
    "escalation_rule",
    "escalation_level",
    "escalation_repeats",
    "escalation_loops",
    "next_escalation_at",
    "escalation_finished_at",
    "flapping_since",
    "flapping_quiet",
]


@dataclass(frozen=True)
class Flap:
    """An incident the batch found flapping, with what to tell people."""

    incident: Incident
    triggers: int
    minutes: int
    quiet: bool
    title: str


@dataclass
class FlapWatch:
    """Collects one batch's triggers; :meth:`flush` writes them and names the flapping."""

    at: datetime
    triggered: dict[Identity, tuple[Channel, Alert, Incident]] = field(default_factory=dict)

    def trigger(self, channel: Channel, alert: Alert, incident: Incident) -> None:
        if channel.flapping == channel.Flapping.OFF:
            return
        self.triggered[(channel.pk, alert.source_id, alert.alert_key)] = (channel, alert, incident)

    def flush(self) -> list[Flap]:
        if not self.triggered:
            return []
        states = _states(list(self.triggered))
        flaps, new, changed = [], [], []
        for identity, (channel, alert, incident) in self.triggered.items():
            state = states.get(identity) or _new_state(identity, self.at)
            (changed if state.pk else new).append(state)
            count = _count(state, channel, self.at)
            if count > channel.flapping_times and not incident.flapping_quiet:
                quiet = channel.flapping == channel.Flapping.QUIET
                if incident.flapping_since is None or quiet:
                    flaps.append(
                        Flap(incident, count, channel.flapping_minutes, quiet, alert.title)
                    )
        _write(new, changed)
        return flaps


def _states(identities: list[Identity]) -> dict[Identity, FlapState]:
    from oncall.models import FlapState

    query = Q()
    for channel_id, source_id, key in identities:
        query |= Q(channel_id=channel_id, source_id=source_id, alert_key=key)
    return {(s.channel_id, s.source_id, s.alert_key): s for s in FlapState.objects.filter(query)}


def _new_state(identity: Identity, at: datetime) -> FlapState:
    from oncall.models import FlapState

    channel_id, source_id, key = identity
    return FlapState(channel_id=channel_id, source_id=source_id, alert_key=key, updated_at=at)


def _count(state: FlapState, channel: Channel, at: datetime) -> int:
    """Add the trigger at ``at`` and keep those within the channel's window; their number."""
    since = (at - timedelta(minutes=channel.flapping_minutes)).isoformat()
    kept = [t for t in state.triggers if t > since]  # ISO times in UTC sort as text
    kept.append(at.isoformat())
    state.triggers = kept[-(channel.flapping_times + 1) :]
    state.updated_at = at
    return len(kept)


def _write(new: list[FlapState], changed: list[FlapState]) -> None:
    from oncall.models import FlapState
    from oncall.rows import update_rows

    if new:
        FlapState.objects.bulk_create(new)
    if changed:
        update_rows(FlapState, changed, ["triggers", "updated_at"])


def purge(now: datetime) -> int:
    """Drop the states nobody triggered for a day: no window is that long."""
    from oncall.models import FlapState

    deleted, _ = FlapState.objects.filter(updated_at__lt=now - PURGE_AFTER).delete()
    return deleted


def mark(flap: Flap, at: datetime) -> None:
    """Mark the incident flapping; a quiet one notifies nobody from now on. Its escalation
    is re-planned as after any change (a planned step is dropped). The caller holds the
    incident's group lock; the row is locked here and its state re-read, as every change of
    its escalation does, so that a claim or a snooze made meanwhile is seen."""
    incident = flap.incident
    _lock_and_reread(incident)
    if incident.flapping_since is None:
        incident.flapping_since = at
    if flap.quiet:
        incident.flapping_quiet = True
    incident.save(update_fields=["flapping_since", "flapping_quiet"])
    _replan(incident)


def settle(now: datetime) -> int:
    """Clear the marks of the open incidents whose flapping ended (see the module's
    docstring), each in its own transaction under its group lock; how many were cleared."""
    from oncall.models import Channel, Incident

    open_statuses = (Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED)
    marked = list(
        # By status first: the open incidents are few and indexed, the closed ones many.
        Incident.objects.filter(status__in=open_statuses, flapping_since__isnull=False)
        .order_by("flapping_since")
        .values_list("pk", "channel_id", "group_key")[:SETTLE_BATCH]
    )
    channels = Channel.objects.in_bulk({channel_id for _, channel_id, _ in marked})
    ended = 0
    for incident_id, channel_id, key in marked:
        with transaction.atomic():
            ended += _settle_one(incident_id, channels[channel_id], key, now)
    return ended


def _settle_one(incident_id: int, channel: Channel, key: str, now: datetime) -> bool:
    from oncall.merge import advisory_lock, group_lock
    from oncall.models import Incident
    from oncall.models import TimelineEntry as Entry
    from oncall.timeline import Actor, record

    advisory_lock([group_lock(channel.pk, key)])  # what the merge holds when it marks
    incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
    if incident is None or incident.flapping_since is None or not incident.is_open:
        return False
    if still_flapping(incident, channel, now):
        return False
    was_quiet = incident.flapping_quiet
    incident.flapping_since, incident.flapping_quiet = None, False
    incident.save(update_fields=["flapping_since", "flapping_quiet"])
    record(incident, Entry.Kind.FLAPPING, Actor.system(), ended_message(channel, was_quiet))
    _replan(incident)
    return True


def still_flapping(incident: Incident, channel: Channel, now: datetime) -> bool:
    """Whether one of the incident's alert identities triggered more than the channel's
    ``flapping_times`` within its last ``flapping_minutes`` (always False for a channel that
    stopped watching)."""
    from oncall.models import Alert, FlapState

    if channel.flapping == channel.Flapping.OFF:
        return False
    its_alerts = Alert.objects.filter(
        incident=incident, source_id=OuterRef("source_id"), alert_key=OuterRef("alert_key")
    )
    states = FlapState.objects.filter(channel_id=incident.channel_id).filter(Exists(its_alerts))
    since = (now - timedelta(minutes=channel.flapping_minutes)).isoformat()
    return any(
        sum(t > since for t in triggers) > channel.flapping_times  # ISO times in UTC
        for triggers in states.values_list("triggers", flat=True)
    )


def _lock_and_reread(incident: Incident) -> None:
    from oncall.models import Incident

    incident.refresh_from_db(
        fields=ESCALATION_STATE, from_queryset=Incident.objects.select_for_update()
    )


def _replan(incident: Incident) -> None:
    from django.utils import timezone

    from oncall import escalation

    escalation.plan_after_change(incident, timezone.now())


def describe(flap: Flap) -> Phrase:
    kind = "flapping.quiet" if flap.quiet else "flapping"
    return phrase(kind, title=flap.title, count=flap.triggers, minutes=flap.minutes)


def ended_message(channel: Channel, was_quiet: bool) -> Phrase:
    kind = "flapping.ended.quiet" if was_quiet else "flapping.ended"
    return phrase(kind, count=channel.flapping_times, minutes=channel.flapping_minutes)
