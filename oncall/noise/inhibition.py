"""Inhibition: a new alert is inhibited while a related, more important problem is open.

An :class:`InhibitRule` of the alert's channel or source inhibits a new alert (one that opens no
existing alert again: repeats of an alert are not re-judged) when the alert matches the rule's
new-alert condition and a firing alert of an open incident of that channel (or source), seen
within the rule's window, matches its active condition with equal values for the rule's keys.
The inhibited alert is dropped, or kept and marked (``Alert.suppressed``, with the rule and the
inhibiting incident in ``suppressed_detail``): it opens no incident and notifies nobody. A later
event of a kept one is judged again: once nothing inhibits it any more, it opens its incident.

Cost. A batch (:class:`Inhibitor`) takes the rules of its channels and source as this process
compiled them for their owners' versions (``noise_version``: no query while they stay as they
were). Before the
batch is merged, each rule that some firing event of the batch matches reads, in one query, the
active alerts with those events' ``equal`` values (not every open alert of the channel) into a
table keyed by the values, so each new alert is then a lookup. Alerts the batch itself opens
join those tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db.models import Q, TextField
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast

from oncall.events import AlertEvent, EventKind
from oncall.matchers import subject_of
from oncall.noise.compiled import PerVersion
from oncall.noise.conditions import Condition, parse_condition

if TYPE_CHECKING:
    from oncall.models import Alert, AlertSource, Channel, Incident

MISSING = ""  # a key missing from both alerts counts as equal (as in Alertmanager)


@dataclass(frozen=True)
class Inhibition:
    """Why a new alert is inhibited: the rule, the incident whose alert inhibits it."""

    rule_id: int
    rule_name: str
    drop: bool
    incident: Incident

    def detail(self) -> dict[str, Any]:
        """What ``Alert.suppressed_detail`` keeps for people and links."""
        return {
            "rule": self.rule_id,
            "rule_name": self.rule_name,
            "incident": str(self.incident.public_id),
            "incident_number": self.incident.number,
        }


@dataclass(frozen=True)
class _Rule:
    pk: int
    name: str
    channel_id: int | None
    source_id: int | None
    new: Condition
    active: Condition
    equal: tuple[str, ...]
    window: timedelta
    drop: bool


# (equal values) -> the incident of the newest matching active alert
Table = dict[tuple[str, ...], "Incident"]


@dataclass
class Inhibitor:
    """The inhibition rules that apply to one merge batch (one source, some channels), as
    compiled for their owners' versions (``noise_version``), and the active alerts each rule
    may inhibit by, read for the batch."""

    source: AlertSource
    at: datetime
    channels: list[Channel]
    rules: list[_Rule] = field(default_factory=list)
    # rule pk -> its table, read on first need (``prepare`` or ``_active``)
    tables: dict[int, Table] = field(default_factory=dict)

    def __post_init__(self) -> None:
        rules = [*_source_rules(self.source)]
        for channel in self.channels:
            rules.extend(_channel_rules(channel))
        self.rules = sorted(rules, key=lambda rule: rule.pk)

    def prepare(self, pairs: list[tuple[Channel, AlertEvent]]) -> None:
        """Read, per rule, the active alerts the batch's firing events may be inhibited by."""
        wanted: dict[int, set[tuple[str, ...]]] = {}
        for channel, event in pairs:
            if event.kind != EventKind.FIRING:
                continue
            subject = _event_subject(event)
            for rule in self._rules_for(channel):
                if rule.new.matches(subject):
                    wanted.setdefault(rule.pk, set()).add(_values(rule, subject))
        for rule in self.rules:
            table = self.tables[rule.pk] = {}
            values = wanted.get(rule.pk)
            if values:
                for alert in _active_alerts(rule, self.at, values):
                    _add(rule, table, _alert_subject(alert), alert.incident)

    def _rules_for(self, channel: Channel) -> list[_Rule]:
        return [r for r in self.rules if r.channel_id in (None, channel.pk)]

    def check(self, channel: Channel, event: AlertEvent) -> Inhibition | None:
        """The inhibition of a new alert of ``channel`` made of ``event``, if any."""
        if not self.rules:
            return None
        subject = _event_subject(event)
        for rule in self._rules_for(channel):
            if not rule.new.matches(subject):
                continue
            incident = self._active(rule).get(_values(rule, subject))
            if incident is not None:
                return Inhibition(rule.pk, rule.name, rule.drop, incident)
        return None

    def opened(self, alert: Alert) -> None:
        """An alert the batch opened (not suppressed) may inhibit later alerts of the batch."""
        for rule in self.rules:
            table = self.tables.get(rule.pk)
            if table is not None and _in_scope(rule, alert.channel_id, alert.source_id):
                _add(rule, table, _alert_subject(alert), alert.incident)

    def _active(self, rule: _Rule) -> Table:
        table = self.tables.get(rule.pk)
        if table is None:  # not prepared: read them all
            table = self.tables[rule.pk] = {}
            for alert in _active_alerts(rule, self.at, None):
                _add(rule, table, _alert_subject(alert), alert.incident)
        return table


# Owner -> its enabled rules compiled, per noise version of the owner (the channel, the source).
_compiled_rules: PerVersion[tuple[_Rule, ...]] = PerVersion()


def _channel_rules(channel: Channel) -> tuple[_Rule, ...]:
    return _compiled_rules.get(
        ("channel", channel.pk), channel.noise_version, lambda: _read(channel_id=channel.pk)
    )


def _source_rules(source: AlertSource) -> tuple[_Rule, ...]:
    return _compiled_rules.get(
        ("source", source.pk), source.noise_version, lambda: _read(source_id=source.pk)
    )


def _read(**owner: int) -> tuple[_Rule, ...]:
    from oncall.models import InhibitRule

    rows = InhibitRule.objects.filter(enabled=True, **owner).order_by("pk")
    return tuple(_compile(row) for row in rows)


def _compile(row: Any) -> _Rule:
    return _Rule(
        pk=row.pk,
        name=row.name,
        channel_id=row.channel_id,
        source_id=row.source_id,
        new=parse_condition(row.new_alert_condition),
        active=parse_condition(row.active_condition),
        equal=tuple(row.equal),
        window=timedelta(minutes=row.window_minutes),
        drop=row.action == row.Action.DROP,
    )


def _active_alerts(rule: _Rule, at: datetime, values: set[tuple[str, ...]] | None) -> Any:
    """Firing alerts of open incidents in the rule's scope, last seen within its window, with
    one of ``values`` for the rule's ``equal`` keys (None: any), oldest first (later rows
    overwrite: the newest inhibiting incident is the one linked)."""
    from oncall.models import Alert, Incident

    alerts = Alert.objects.filter(
        status=Alert.Status.FIRING,
        incident__status__in=(Incident.Status.TRIGGERED, Incident.Status.ACKNOWLEDGED),
        last_seen__gte=at - rule.window,
    )
    if rule.channel_id is not None:
        alerts = alerts.filter(channel_id=rule.channel_id)
    else:
        alerts = alerts.filter(source_id=rule.source_id)
    if values is not None and rule.equal:
        alerts = _with_values(alerts, rule.equal, values)
    return (
        alerts.select_related("incident")
        .only(
            "title",
            "description",
            "severity",
            "alert_key",
            "labels",
            "channel_id",
            "source_id",
            "incident__public_id",
            "incident__number",
            "incident__status",
        )
        .order_by("last_seen", "pk")  # later rows overwrite: the newest wins
    )


def _with_values(alerts: Any, keys: tuple[str, ...], values: set[tuple[str, ...]]) -> Any:
    """Only alerts whose ``keys`` have one of the ``values`` tuples (a label missing counts
    as empty). Labels are read with ``KeyTextTransform``, whatever their names hold."""
    names = {}
    for index, key in enumerate(keys):
        if key.startswith("labels."):
            names[key] = f"_equal_{index}"
            # Cast: SQLite compares a bare key transform with the value read as JSON.
            label = Cast(KeyTextTransform(key[len("labels.") :], "labels"), TextField())
            alerts = alerts.alias(**{names[key]: label})
    wanted = Q()
    for row in values:
        one = Q()
        for key, value in zip(keys, row, strict=True):
            column = names.get(key, key)
            same = Q(**{column: value})
            if value == MISSING and key in names:
                same |= Q(**{f"{column}__isnull": True})
            one &= same
        wanted |= one
    return alerts.filter(wanted)


def _add(rule: _Rule, table: Table, subject: dict[str, str], incident: Incident) -> None:
    if rule.active.matches(subject):
        table[_values(rule, subject)] = incident


def _in_scope(rule: _Rule, channel_id: int, source_id: int | None) -> bool:
    if rule.channel_id is not None:
        return rule.channel_id == channel_id
    return rule.source_id == source_id


def _values(rule: _Rule, subject: dict[str, str]) -> tuple[str, ...]:
    return tuple(subject.get(key, MISSING) for key in rule.equal)


def _subject(title: str, description: str, severity: str, key: str, labels: Any) -> dict[str, str]:
    return subject_of(
        title=title, description=description, severity=severity, alert_key=key, labels=labels
    )


def _event_subject(event: AlertEvent) -> dict[str, str]:
    return _subject(event.title, event.description, event.severity, event.alert_key, event.labels)


def _alert_subject(alert: Alert) -> dict[str, str]:
    return _subject(alert.title, alert.description, alert.severity, alert.alert_key, alert.labels)
