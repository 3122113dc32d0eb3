"""Tencent Cloud Log Service (CLS) alarms, posted by a notification channel group of type
"custom API callback" with the request body the knowledge base gives (``CALLBACK_BODY`` in
``source.py``: CLS's template variables, one JSON key each).

One callback is one event:

* ``alert_key``: ``tencent_cls:<alarm_id>``, plus ``:<record_group_id>`` when the policy
  groups its results (one alert per group).
* ``kind``: ``notify_type`` 1 fires, 2 (recovery) resolves; anything else is a
  ``PayloadError``.
* ``severity``: ``level`` ``Info`` info, ``Warn`` warning, ``Critical`` critical
  (case-insensitive; the knowledge base's table); an unknown level is a warning.
* ``title``: ``alarm`` (the policy's name), else "CLS alarm".
* ``description``: ``message`` (the policy's notification text), then the trigger
  ``condition`` and ``trigger_params``.
* ``labels``: the policy's custom ``label`` object, then ``region``, ``topic``,
  ``topic_id``, ``uin`` in free slots.
* ``links``: ``detail_url`` ("Alarm details"), ``query_url`` ("Query").
* ``starts_at``: ``start_time_unix``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_str,
    merge_extra_labels,
    optional_link,
    parse_epoch_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
)

LEVELS = {"info": Severity.INFO, "warn": Severity.WARNING, "critical": Severity.CRITICAL}
NOTIFY_TYPES = {"1": EventKind.FIRING, "2": EventKind.RESOLVED}


def recognises(payload: Any) -> bool:
    """The knowledge base's body: an alarm policy id, a log topic id and a notify type."""
    return isinstance(payload, dict) and {"alarm_id", "topic_id", "notify_type"} <= payload.keys()


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one CLS alarm callback (see the module docstring)."""
    body = require_object(payload, None)
    alarm_id = get_str(body, "alarm_id", field="alarm_id", required=True).strip()
    group = get_str(body, "record_group_id", field="record_group_id").strip()
    level = get_str(body, "level", field="level").strip()
    title = get_str(body, "alarm", field="alarm").strip() or "CLS alarm"
    return [
        AlertEvent(
            alert_key=":".join(["tencent_cls", alarm_id, *([group] if group else [])]),
            kind=_kind(body),
            title=truncate(title, MAX_TITLE_CHARS),
            severity=severity_from_table(level, LEVELS),
            raw_severity=level,
            description=truncate(_description(body), MAX_DESCRIPTION_CHARS),
            labels=_labels(body),
            links=(
                *optional_link(body.get("detail_url"), "Alarm details"),
                *optional_link(body.get("query_url"), "Query"),
            ),
            starts_at=parse_epoch_time(body.get("start_time_unix"), field="start_time_unix"),
        )
    ]


def _kind(body: dict[str, Any]) -> EventKind:
    raw = body.get("notify_type")
    kind = NOTIFY_TYPES.get(to_text(raw).strip().strip('"'))
    if kind is None:
        raise PayloadError(
            f"notify_type must be 1 (alarm) or 2 (recovery), not {truncate(to_text(raw), 40)}",
            field="notify_type",
        )
    return kind


def _description(body: dict[str, Any]) -> str:
    lines = [get_str(body, "message", field="message").strip()]
    condition = get_str(body, "condition", field="condition").strip()
    if condition:
        lines.append(f"Condition: {condition}")
    params = get_str(body, "trigger_params", field="trigger_params").strip()
    if params:
        lines.append(f"Trigger parameters: {params}")
    return "\n".join(line for line in lines if line)


def _labels(body: dict[str, Any]) -> dict[str, str]:
    labels = clean_labels(body.get("label"), field="label", lenient=True)
    extra = {key: get_str(body, key, field=key) for key in ("region", "topic", "topic_id", "uin")}
    return merge_extra_labels(labels, {key: value for key, value in extra.items() if value})
