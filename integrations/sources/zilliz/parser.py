"""Zilliz Cloud project alerts, posted by an alert whose "Send to" is a webhook (with "alert
resolution notification" on).

Zilliz does not publish the webhook's body; this reads the alert-rule vocabulary of Zilliz's
alert-rule API (``ruleId``, ``ruleName``, ``level``, ``metricName``, ``comparisonOperator``,
``threshold``, ``windowSize``, ``projectId``) plus the cluster the alert is about and its
``status`` (see README.md). One post is one event:

* ``alert_key``: ``zilliz:<ruleId>:<clusterId>`` (one alert per rule and cluster; an
  organization alert without a cluster is keyed by the rule alone).
* ``kind``: ``status`` ``FIRING`` / ``TRIGGERED`` fires, ``RESOLVED`` / ``OK`` resolves
  (case-insensitive); anything else is a ``PayloadError``.
* ``severity``: ``level`` ``CRITICAL`` critical, ``WARNING`` warning (the knowledge base's
  table); an unknown level is a warning.
* ``title``: ``ruleName``, then ``on <clusterName or clusterId>``.
* ``description``: ``metricName comparisonOperator threshold``, the current value and the
  window, one per line, then ``message`` if any.
* ``labels``: ``projectId``, ``clusterId``, ``clusterName``, ``metricName``, ``ruleId``,
  ``region``.
* ``links``: ``url`` ("Zilliz Cloud").
* ``starts_at`` / ``ends_at``: ``triggeredAt`` / ``resolvedAt`` (ISO 8601 or Unix time).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations.sources.common import (
    get_str,
    optional_link,
    parse_epoch_time,
    parse_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
)

LEVELS = {"critical": Severity.CRITICAL, "warning": Severity.WARNING}
STATUSES = {
    "firing": EventKind.FIRING,
    "triggered": EventKind.FIRING,
    "resolved": EventKind.RESOLVED,
    "ok": EventKind.RESOLVED,
}
LABEL_FIELDS = ("projectId", "clusterId", "clusterName", "metricName", "ruleId", "region")


def recognises(payload: Any) -> bool:
    """An alert post: a rule id and a metric name beside the cluster id."""
    return isinstance(payload, dict) and {"ruleId", "metricName", "clusterId"} <= payload.keys()


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one Zilliz alert post (see the module docstring)."""
    body = require_object(payload, None)
    rule_id = _text(body, "ruleId", required=True)
    cluster = _text(body, "clusterId")
    level = get_str(body, "level", field="level").strip()
    return [
        AlertEvent(
            alert_key=":".join(["zilliz", rule_id, *([cluster] if cluster else [])]),
            kind=_kind(body),
            title=truncate(_title(body, cluster), MAX_TITLE_CHARS),
            severity=severity_from_table(level, LEVELS),
            raw_severity=level,
            description=truncate(_description(body), MAX_DESCRIPTION_CHARS),
            labels={
                key: truncate(to_text(body[key]), MAX_LABEL_VALUE_CHARS)
                for key in LABEL_FIELDS
                if body.get(key) not in (None, "")
            },
            links=optional_link(body.get("url"), "Zilliz Cloud"),
            starts_at=_time(body, "triggeredAt"),
            ends_at=_time(body, "resolvedAt"),
        )
    ]


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = body.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return get_str(body, key, field=key, required=required).strip()


def _kind(body: dict[str, Any]) -> EventKind:
    status = get_str(body, "status", field="status", required=True)
    try:
        return STATUSES[status.strip().lower()]
    except KeyError:
        raise PayloadError(
            f"status must be FIRING or RESOLVED, not {truncate(status, 40)!r}", field="status"
        ) from None


def _title(body: dict[str, Any], cluster: str) -> str:
    rule = get_str(body, "ruleName", field="ruleName").strip() or "Zilliz alert"
    target = get_str(body, "clusterName", field="clusterName").strip() or cluster
    return f"{rule} on {target}" if target else rule


CONDITION_FIELDS = ("metricName", "comparisonOperator", "threshold")


def _description(body: dict[str, Any]) -> str:
    lines = []
    if all(body.get(key) not in (None, "") for key in CONDITION_FIELDS):
        lines.append(" ".join(to_text(body[key]) for key in CONDITION_FIELDS))
    if body.get("currentValue") not in (None, ""):
        lines.append(f"Current value: {to_text(body['currentValue'])}")
    if body.get("windowSize") not in (None, ""):
        lines.append(f"Window: {to_text(body['windowSize'])} min")
    lines.append(get_str(body, "message", field="message").strip())
    return "\n".join(line for line in lines if line)


def _time(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return parse_epoch_time(value, field=key)
    return parse_time(value, field=key)
