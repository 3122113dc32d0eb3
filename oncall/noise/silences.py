"""Silences: while one is active, new alerts of its channel that match open no incident.

A silence is one time (from / to) or weekly (days, and hours of those days, in a time zone; an
end earlier than the start runs into the next day; no hours: the whole day: the weekly windows
of ``oncall.weekly``, which escalation rules use too, wall-clock hours kept across
daylight-saving changes). Its condition is the matchers of ``oncall.noise.conditions`` (AND
within a group, OR between groups).

What it does to a new alert (``oncall.merge`` asks :class:`SilenceBook`, made once per batch
from the channel's silences as compiled for their version, ``Channel.noise_version``):

* ``drop``: the alert is not stored; its later events are dropped too while the silence lasts;
* ``mark`` (the default): the alert is stored marked silenced, with no incident (the alert list
  shows it, filtered by "silenced"); it notifies nobody. Its further events count on it.

Silences expire by themselves: a one-time silence past its end, or a weekly one outside its
hours, holds nothing. An alert a silence kept that still fires when the silence ends opens its
incident then: each kept alert has a :class:`~oncall.models.SilenceHold` row due at the end of
the silence's current period, and the sweep (:func:`release_due`, every 30 s) re-examines due
holds under the merge's locks: still silenced (another silence, the next weekly day) moves the
hold on; otherwise the alert opens or joins its incident as if it had just arrived. A further
event of a kept alert after the silence ended does the same at once. Editing a silence makes
its holds due (``Silence.save``), deleting it empties their ``silence`` (due too).

Alerts already in an open incident are not silenced: the incident exists and people handle it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from oncall.events import AlertEvent
from oncall.matchers import subject_of
from oncall.models import Alert, Channel, Silence, SilenceHold
from oncall.noise.compiled import PerVersion
from oncall.noise.conditions import Condition, parse_condition
from oncall.weekly import WeeklyWindow

Suppression = Alert.Suppression
RELEASE_BATCH = 500


# --- When a silence is active --------------------------------------------------------------------


def period_end(
    silence: Silence, at: datetime, window: WeeklyWindow | None = None
) -> datetime | None:
    """When the period of ``silence`` that holds ``at`` ends; None when it is not active then
    (disabled, outside its times). Weekly periods that follow on without a gap are one.
    ``window``: the silence's weekly window, when the caller has it built already."""
    if not silence.enabled:
        return None
    if silence.kind == Silence.Kind.ONCE:
        start = silence.starts_at or silence.created_at
        return silence.ends_at if silence.ends_at and start <= at < silence.ends_at else None
    return (window or silence.weekly_window()).period_end(at)


def check_silence(silence: Silence) -> dict[str, list[str]]:
    """What keeps a silence from being saved, by field."""
    errors: dict[str, list[str]] = {}
    try:
        parse_condition(silence.condition)
    except ValidationError as error:
        errors["condition"] = error.messages
    if silence.kind == Silence.Kind.ONCE:
        if silence.ends_at is None:
            errors["ends_at"] = [_("A one-time silence needs its end.")]
        elif silence.starts_at and silence.ends_at <= silence.starts_at:
            errors["ends_at"] = [_("The end must be after the start.")]
    elif not silence.weekdays:
        errors["weekdays"] = [_("Choose the days of the week, 0 (Monday) to 6 (Sunday).")]
    return errors


# --- Deciding, once per batch ---------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Why a new alert opens no incident (``why``): drop it, or keep it marked (``keep``);
    a silence's says until when (``until``) and which silence."""

    why: str
    keep: bool
    detail: dict[str, Any]
    until: datetime | None = None
    silence_id: int | None = None


@dataclass(frozen=True)
class _Active:
    silence: Silence
    condition: Condition
    until: datetime


@dataclass(frozen=True)
class _Compiled:
    """A silence of a channel, its condition compiled and its weekly window built."""

    silence: Silence
    condition: Condition
    window: WeeklyWindow | None

    def active(self, at: datetime) -> _Active | None:
        until = period_end(self.silence, at, self.window)
        return None if until is None else _Active(self.silence, self.condition, until)


@dataclass(frozen=True)
class _ChannelSilences:
    """A channel's enabled silences as of one version of them, oldest first. One-time
    silences that had ended by ``since`` are left out: they hold nothing later."""

    since: datetime
    silences: tuple[_Compiled, ...]

    @classmethod
    def read(cls, channel_id: int, since: datetime) -> _ChannelSilences:
        rows = Silence.objects.filter(channel_id=channel_id, enabled=True).filter(
            Q(kind=Silence.Kind.WEEKLY) | Q(ends_at__gt=since)
        )
        return cls(since, tuple(_compile(s) for s in rows.order_by("created_at", "id")))


def _compile(silence: Silence) -> _Compiled:
    weekly = silence.kind == Silence.Kind.WEEKLY
    window = silence.weekly_window() if weekly else None
    return _Compiled(silence, parse_condition(silence.condition), window)


# Channel id -> its compiled silences, per noise version (``Channel.noise_version``).
_compiled_silences: PerVersion[_ChannelSilences] = PerVersion()


def channel_silences(channel: Channel, at: datetime) -> tuple[_Compiled, ...]:
    """The channel's silences that may hold at ``at``: compiled once per version of them (no
    query while they stay as they were); read afresh for a moment before the compiled ones'."""
    known = _compiled_silences.get(
        channel.pk, channel.noise_version, lambda: _ChannelSilences.read(channel.pk, at)
    )
    if at < known.since:  # an older push merged late: silences ended since may hold for it
        return _ChannelSilences.read(channel.pk, at).silences
    return known.silences


@dataclass
class SilenceBook:
    """The silences of a batch's channels active at the batch's moment."""

    at: datetime
    by_channel: dict[int, list[_Active]] = field(default_factory=dict)

    @classmethod
    def load(cls, channels: Iterable[Channel], at: datetime) -> SilenceBook:
        book = cls(at)
        for channel in channels:
            actives = [a for c in channel_silences(channel, at) if (a := c.active(at))]
            if actives:
                book.by_channel[channel.pk] = actives
        return book

    def verdict(self, channel_id: int, event: AlertEvent) -> Verdict | None:
        """The first active silence (oldest first) whose condition holds for ``event``."""
        actives = self.by_channel.get(channel_id)
        if not actives:
            return None
        subject = subject_of(
            title=event.title,
            description=event.description,
            severity=event.severity,
            alert_key=event.alert_key,
            labels=event.labels,
        )
        for active in actives:
            if active.condition.matches(subject):
                return _verdict(active)
        return None


def _verdict(active: _Active) -> Verdict:
    silence = active.silence
    return Verdict(
        why=Suppression.SILENCED,
        silence_id=silence.pk,
        keep=silence.behaviour == Silence.Behaviour.MARK,
        until=active.until,
        detail={
            "silence": str(silence.public_id),
            "name": silence.name,
            "until": active.until.isoformat(),
        },
    )


def hold(alert: Alert, verdict: Verdict) -> None:
    """Plan the re-examination of a kept alert at the end of its silence."""
    SilenceHold.objects.update_or_create(
        alert=alert, defaults={"silence_id": verdict.silence_id, "recheck_at": verdict.until}
    )


def unhold(alert: Alert) -> None:
    SilenceHold.objects.filter(alert=alert).delete()


# --- The sweep ---------------------------------------------------------------------------------


def release_due(now: datetime) -> int:
    """Re-examine the kept alerts whose silence ended (or changed, or was deleted): each source
    and channel's in one transaction, under the merge's locks (``oncall.merge.reconsider``).
    Holds of alerts that recovered or left their silence another way are deleted. Returns how
    many holds were due."""
    from oncall.merge import reconsider  # the merge imports this module

    due = list(
        SilenceHold.objects.filter(Q(recheck_at__lte=now) | Q(silence__isnull=True))
        .select_related("alert__channel", "alert__source")
        .order_by("recheck_at")[:RELEASE_BATCH]
    )
    groups: dict[tuple[int, int], list[Alert]] = defaultdict(list)
    finished = []
    for row in due:
        alert = row.alert
        if alert.source is None or not _still_kept(alert):
            finished.append(row.pk)  # recovered, opened its incident, or lost its source
        else:
            groups[(alert.source_id, alert.channel_id)].append(alert)
    SilenceHold.objects.filter(pk__in=finished).delete()
    for alerts in groups.values():
        with transaction.atomic():
            reconsider(alerts[0].source, alerts[0].channel, alerts, now)
    return len(due)


def _still_kept(alert: Alert) -> bool:
    return (
        alert.status == Alert.Status.FIRING
        and alert.incident_id is None
        and alert.suppressed == Suppression.SILENCED
    )
