"""Flapping: an alert key that keeps triggering and recovering marks its incident flapping.

Per channel (``Channel.flapping``): off; mark only; or mark and stop notifying after the first
(``quiet``). An identity (channel, source, alert key) *triggers* when it starts firing: a new
alert, or one firing again after it recovered. Its trigger times within the channel's
``flapping_minutes`` are kept in a :class:`FlapState` row; when they number more than
``flapping_times`` (so it recovered that many times in between), the incident of the latest
trigger is marked (``Incident.flapping_since``) and its timeline says so. Quiet: the incident
notifies nobody from then on (``Incident.flapping_quiet``, which the escalation engine reads):
a new incident of a flapping key is opened without notifying, the key's first incident having
notified already, and an open one stops escalating.

Cost. Nothing for channels that do not watch. Otherwise one query reads the batch's states and
one or two write them, at the end of the batch, for the identities that triggered in it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Q

if TYPE_CHECKING:
    from oncall.models import Alert, Channel, FlapState, Incident

Identity = tuple[int, int | None, str]
PURGE_AFTER = timedelta(days=1)


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
    from oncall.merge import update_rows
    from oncall.models import FlapState

    if new:
        FlapState.objects.bulk_create(new)
    if changed:
        update_rows(FlapState, changed, ["triggers", "updated_at"])


def purge(now: datetime) -> int:
    """Drop the states nobody triggered for a day: no window is that long."""
    from oncall.models import FlapState

    deleted, _ = FlapState.objects.filter(updated_at__lt=now - PURGE_AFTER).delete()
    return deleted


def mark(flap: Flap, at: datetime, *, stop_planned: bool) -> None:
    """Mark the incident flapping; a quiet one notifies nobody from now on, and its planned
    step (``stop_planned``: it was escalating already) is dropped. The caller holds the
    incident's group lock."""
    from oncall.models import Incident

    incident = flap.incident
    changes: dict[str, object] = {}
    if incident.flapping_since is None:
        incident.flapping_since = changes["flapping_since"] = at
    if flap.quiet:
        incident.flapping_quiet = changes["flapping_quiet"] = True
        if stop_planned:
            incident.next_escalation_at = changes["next_escalation_at"] = None
    Incident.objects.filter(pk=incident.pk).update(**changes)


def describe(flap: Flap) -> str:
    text = f"Flapping: “{flap.title}” triggered {flap.triggers} times within {flap.minutes} minutes"
    return text + ("; notifications stopped." if flap.quiet else ".")
