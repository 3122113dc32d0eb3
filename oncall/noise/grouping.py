"""Which open incident an alert joins: its grouping key.

A channel groups by its *group by labels* (``Channel.group_by_labels``: alerts with equal values
share an incident; none: one incident per alert). *Grouping branches*
(``Channel.grouping_branches``) refine that per kind of alert: the first branch whose condition
holds for the alert gives the labels to group by; an alert no branch takes is grouped by the
channel's labels (the default). *Strict grouping* (``Channel.strict_grouping``) treats an empty
or missing label value as different from every other: such an alert gets an incident of its
own; otherwise an empty value groups like any other value.

The parsed branches are kept on the channel object, which ingestion loads once per batch, so a
batch parses them once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError

from oncall.events import AlertEvent, stable_key
from oncall.matchers import subject_of
from oncall.noise.conditions import Condition, parse_condition

if TYPE_CHECKING:
    from oncall.models import AlertSource, Channel

MAX_BRANCHES = 50
_PARSED = "_grouping_branches_parsed"


@dataclass(frozen=True)
class Branch:
    condition: Condition
    labels: tuple[str, ...]


def parse_branches(raw: Any) -> list[Branch]:
    """``[{"condition": <condition>, "group_by": ["cluster"]}, ...]``; ``ValidationError``."""
    if raw in (None, ""):
        return []
    if not isinstance(raw, list):
        raise ValidationError("Grouping branches are a list of {condition, group_by} objects.")
    if len(raw) > MAX_BRANCHES:
        raise ValidationError(f"A channel has at most {MAX_BRANCHES} grouping branches.")
    return [_parse_branch(item, index) for index, item in enumerate(raw)]


def _parse_branch(item: Any, index: int) -> Branch:
    where = f"Branch {index + 1}"
    if not isinstance(item, dict) or set(item) - {"condition", "group_by"}:
        raise ValidationError(f"{where} must be an object with condition and group_by.")
    labels = item.get("group_by", [])
    if not isinstance(labels, list) or not all(isinstance(v, str) and v for v in labels):
        raise ValidationError(f'{where}: group_by is a list of label names, e.g. ["cluster"].')
    try:
        condition = parse_condition(item.get("condition"))
    except ValidationError as error:
        raise ValidationError(f"{where}: {' '.join(error.messages)}") from None
    if not condition.groups:
        raise ValidationError(f"{where}: give it a condition (the default needs no branch).")
    return Branch(condition, tuple(labels))


def validate_branches(value: Any) -> None:
    parse_branches(value)


def branches_of(channel: Channel) -> list[Branch]:
    """The channel's branches, parsed once per channel object (once per batch)."""
    parsed = channel.__dict__.get(_PARSED)
    if parsed is None:
        parsed = parse_branches(channel.grouping_branches)
        channel.__dict__[_PARSED] = parsed
    return parsed


def group_key(channel: Channel, source: AlertSource, event: AlertEvent) -> str:
    """Alerts with equal keys share one open incident of the channel. A key starting with
    ``alert:`` is the alert's own: it joins no other alert's incident."""
    labels, branch = _dimensions(channel, event)
    own = "alert:" + stable_key(source.pk, event.alert_key)
    if not labels:
        return own
    values = [event.labels.get(name, "") for name in labels]
    if channel.strict_grouping and not all(values):
        return own
    if branch is None:  # the channel's default labels: the key they always had
        return "labels:" + stable_key(list(labels), values)
    return "labels:" + stable_key(branch, list(labels), values)


def _dimensions(
    channel: Channel, event: AlertEvent
) -> tuple[list[str] | tuple[str, ...], int | None]:
    """The labels to group by and the index of the branch that chose them (None: default)."""
    branches = branches_of(channel)
    if branches:
        subject = subject_of(
            title=event.title,
            description=event.description,
            severity=event.severity,
            alert_key=event.alert_key,
            labels=event.labels,
        )
        for index, branch in enumerate(branches):
            if branch.condition.matches(subject):
                return branch.labels, index
    return channel.group_by_labels, None
