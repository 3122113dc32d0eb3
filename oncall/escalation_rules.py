"""Which escalation rule escalates an incident: its channel's first enabled rule, by position,
whose conditions hold; and the rule's levels in order.

A channel's rules and levels are kept per process for its ``escalation_version``, which every
write of them renews (``oncall.models.versions``): whoever has the channel row (the merge, an
escalation step) chooses a rule and finds a level without a query while they stay as they are.
The kept copies are field values only: every caller gets instances of its own, so that nothing
one caller caches on a rule (a platform's related rows) reaches another.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone

from oncall.matchers import subject_of
from oncall.models import Alert, Channel, EscalationLevel, EscalationRule, Incident
from oncall.noise.compiled import PerVersion

RULE_FIELDS = tuple(f.attname for f in EscalationRule._meta.concrete_fields)
LEVEL_FIELDS = tuple(f.attname for f in EscalationLevel._meta.concrete_fields)


@dataclass(frozen=True)
class _StoredRule:
    values: tuple[Any, ...]
    # Each level's values, and whether it had schedules (see ``_built``).
    levels: tuple[tuple[tuple[Any, ...], bool], ...]


# Channel id -> its rules (enabled or not, by position) with their levels, per escalation version.
_stored: PerVersion[tuple[_StoredRule, ...]] = PerVersion()


def _read(channel_id: int) -> tuple[_StoredRule, ...]:
    """Three queries: the channel's rules, their levels, which levels have schedules."""
    rules = list(
        EscalationRule.objects.filter(channel_id=channel_id)
        .order_by("position", "id")
        .values_list(*RULE_FIELDS)
    )
    levels: dict[int, list[tuple[tuple[Any, ...], bool]]] = {values[0]: [] for values in rules}
    rule_index = LEVEL_FIELDS.index("rule_id")
    rows = EscalationLevel.objects.filter(rule__channel_id=channel_id).order_by(
        "rule_id", "position", "id"
    )
    scheduled = set(
        EscalationLevel.schedules.through.objects.filter(
            escalationlevel__rule__channel_id=channel_id
        ).values_list("escalationlevel_id", flat=True)
    )
    for values in rows.values_list(*LEVEL_FIELDS):
        levels[values[rule_index]].append((values, values[0] in scheduled))
    return tuple(_StoredRule(values, tuple(levels[values[0]])) for values in rules)


def channel_rules(channel: Channel) -> list[EscalationRule]:
    """The channel's rules, enabled or not, by position, each with its levels (``levels_of``),
    as of ``channel.escalation_version``: no query while they stay as they were."""
    stored = _stored.get(channel.pk, channel.escalation_version, lambda: _read(channel.pk))
    return [_built(rule) for rule in stored]


def _built(stored: _StoredRule) -> EscalationRule:
    rule = EscalationRule.from_db("default", RULE_FIELDS, stored.values)
    levels = []
    for values, had_schedules in stored.levels:
        level = EscalationLevel.from_db("default", LEVEL_FIELDS, values)
        level.rule = rule
        # Adding a schedule to a level renews the version; a schedule deleted since (its link
        # goes without a signal) only costs the level a query that finds none.
        level.may_have_schedules = had_schedules
        levels.append(level)
    rule.ordered_levels = levels
    return rule


def levels_of(rule: EscalationRule) -> list[EscalationLevel]:
    """The rule's levels by position: those it came with from ``channel_rules``, else read."""
    known = getattr(rule, "ordered_levels", None)
    if known is not None:
        return list(known)
    return list(rule.levels.order_by("position", "id"))


def rule_of(channel: Channel, rule_id: int | None) -> EscalationRule | None:
    """The channel's rule ``rule_id`` with its levels, from the kept copy; read when it is not
    one of the channel's (moved to another channel since)."""
    if rule_id is None:
        return None
    found = next((rule for rule in channel_rules(channel) if rule.pk == rule_id), None)
    return found or EscalationRule.objects.filter(pk=rule_id).first()


def rule_for(
    incident: Incident,
    at: datetime | None = None,
    *,
    channel: Channel | None = None,
    first_alert: Alert | None = None,
) -> EscalationRule | None:
    """The rule that escalates ``incident`` at ``at`` (default: now); None when none matches.

    Matchers see the incident's first alert, as routing saw it when it arrived, except for the
    severity, which is the incident's (its worst alert's): ``severity`` matchers and the
    rule's severities then agree. The rules are always the channel's kept ones
    (``channel_rules``) for its ``escalation_version``, so the row must be current: a caller
    that read the incident's ``channel`` in its transaction (the merge, a locked incident's
    ``select_related``) passes it, and its ``first_alert`` when it has it; without it the
    channel is read here (one query), never taken from a copy that may predate a rule change.
    """
    at = at or timezone.now()
    if channel is None:
        channel = Channel.objects.get(pk=incident.channel_id)
    subject = incident_subject(incident, first_alert)
    rules = (rule for rule in channel_rules(channel) if rule.enabled)
    return next((rule for rule in rules if rule.matches(incident.severity, subject, at)), None)


def first_enabled_rule(channel: Channel) -> EscalationRule | None:
    """The channel's first enabled rule by position, matching or not, from the kept copy."""
    return next((rule for rule in channel_rules(channel) if rule.enabled), None)


def incident_subject(incident: Incident, first: Alert | None = None) -> Mapping[str, str]:
    """The mapping an escalation rule's matchers look values up in (see ``subject_of``)."""
    if first is None:
        first = incident.alerts.order_by("first_seen", "id").first()
    if first is None:  # not possible through ingestion; an incident is born with its alert
        return subject_of(
            title=incident.title,
            description="",
            severity=incident.severity,
            alert_key="",
            labels={},
        )
    return subject_of(
        title=first.title,
        description=first.description,
        severity=incident.severity,
        alert_key=first.alert_key,
        labels=first.labels,
    )
