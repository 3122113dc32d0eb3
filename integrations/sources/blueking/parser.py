"""Tencent BlueKing Monitor (V6 / V7) alerts, posted by an action plan of type "HTTP callback"
whose JSON body is ``{{alarm.callback_message}}``.

One callback is one notice about one BlueKing alert:

* ``alert_key``: ``blueking:<bk_biz_id>:<event.id>``; ``event.id`` is the alert's own id, the
  same in its anomaly, recovery and close notices, so repeats and the recovery merge.
* ``kind``: ``type`` (case-insensitive) ``anomaly_notice`` fires (abnormal and no-data
  signals); ``recovery_notice`` and ``closed`` (or ``close_notice``) resolve; any other notice
  (acknowledgement, ...) carries nothing to act on and gives no event (200, nothing accepted).
* ``severity``: ``event.level`` 1 (fatal) critical, 2 (warning) warning, 3 (notice) info; the
  raw severity is the English level name. Another level is a ``PayloadError``.
* ``title``: ``strategy.name``, else "BlueKing alert".
* ``description``: ``description`` (BlueKing's own summary), then the current value.
* ``labels``: ``event.dimensions`` (lists and numbers rendered as JSON text), then
  ``bk_biz_id``, ``bk_biz_name``, ``scenario``, ``strategy_id`` and ``tags`` (the strategy's
  ``labels``, comma-joined) in free slots.
* ``starts_at`` / ``ends_at``: ``event.begin_time`` / ``event.end_time``, BlueKing's wall-clock
  time, read as China Standard Time (UTC+8) when it carries no offset.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from integrations.sources.common import (
    get_list,
    get_str,
    json_type,
    merge_extra_labels,
    optional_object,
    parse_local_time,
    require_object,
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

CHINA_TIME = timezone(timedelta(hours=8), "CST")

# BlueKing's three levels, from the knowledge base's table: (English name, severity).
LEVELS: dict[int, tuple[str, Severity]] = {
    1: ("fatal", Severity.CRITICAL),
    2: ("warning", Severity.WARNING),
    3: ("notice", Severity.INFO),
}
# BlueKing Monitor maps its signals to these notice types (ActionSignal.ACTION_SIGNAL_MAPPING
# in its source): abnormal and no-data -> ANOMALY_NOTICE, recovered -> RECOVERY_NOTICE,
# closed -> "closed". ``close_notice`` is read too, in case a version spells it so.
NOTICE_KINDS = {
    "anomaly_notice": EventKind.FIRING,
    "recovery_notice": EventKind.RESOLVED,
    "closed": EventKind.RESOLVED,
    "close_notice": EventKind.RESOLVED,
}


def recognises(payload: Any) -> bool:
    """A callback message: a business id beside an ``event`` and a ``strategy`` object."""
    return (
        isinstance(payload, dict)
        and "bk_biz_id" in payload
        and isinstance(payload.get("event"), dict)
        and isinstance(payload.get("strategy"), dict)
    )


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one BlueKing callback message (see the module docstring)."""
    body = require_object(payload, None)
    notice = get_str(body, "type", field="type", required=True).strip().lower()
    event = require_object(body.get("event"), "event")
    kind = NOTICE_KINDS.get(notice)
    if kind is None:
        return []
    level_name, severity = _level(event)
    strategy = optional_object(body, "strategy", field="strategy")
    business = _identifier(body.get("bk_biz_id"), field="bk_biz_id")
    title = get_str(strategy, "name", field="strategy.name").strip() or "BlueKing alert"
    return [
        AlertEvent(
            alert_key=f"blueking:{business}:{_identifier(event.get('id'), field='event.id')}",
            kind=kind,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=severity,
            raw_severity=level_name,
            description=truncate(_description(body), MAX_DESCRIPTION_CHARS),
            labels=_labels(body, event, strategy),
            starts_at=parse_local_time(
                event.get("begin_time"), field="event.begin_time", tz=CHINA_TIME
            ),
            ends_at=parse_local_time(event.get("end_time"), field="event.end_time", tz=CHINA_TIME),
        )
    ]


def _level(event: dict[str, Any]) -> tuple[str, Severity]:
    raw = event.get("level")
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or raw not in LEVELS:
        raise PayloadError(
            "event.level must be 1 (fatal), 2 (warning) or 3 (notice), "
            f"not {truncate(to_text(raw), 40)}",
            field="event.level",
        )
    return LEVELS[raw]


def _identifier(raw: Any, *, field: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip():
        raise PayloadError(
            f"{field} is required (a number or a string), not {json_type(raw)}", field=field
        )
    return str(raw).strip()


def _description(body: dict[str, Any]) -> str:
    lines = [get_str(body, "description", field="description").strip()]
    if body.get("current_value") is not None:
        lines.append(f"Current value: {to_text(body['current_value'])}")
    return "\n".join(line for line in lines if line)


def _labels(
    body: dict[str, Any], event: dict[str, Any], strategy: dict[str, Any]
) -> dict[str, str]:
    dimensions = optional_object(event, "dimensions", field="event.dimensions")
    labels = merge_extra_labels(
        {}, {key: to_text(value) for key, value in dimensions.items() if value is not None}
    )
    tags = [to_text(tag) for tag in get_list(body, "labels", field="labels")]
    extra = {
        "bk_biz_id": to_text(body.get("bk_biz_id")),
        "bk_biz_name": get_str(body, "bk_biz_name", field="bk_biz_name"),
        "scenario": get_str(body, "scenario", field="scenario"),
        "strategy_id": to_text(strategy.get("id")) if strategy.get("id") is not None else "",
        "tags": ",".join(tags),
    }
    return merge_extra_labels(labels, {key: value for key, value in extra.items() if value})
