"""Volcengine Cloud-Detect (云拨测) alarms, posted as JSON to the alarm's callback URL.

One callback is one alarm of one alarm task (``task_id``, ``name``, ``grade``) over one or more
probe tasks (``subtask_list``); each probe task is one event:

* ``alert_key``: ``volc_detect:<task_id>:<subtask_id>`` and, when the entry is narrowed by
  ``filters`` (carrier, province), a digest of them, so each probed slice is one alert and
  its repeats merge.
* ``kind``: firing. Cloud-Detect documents no recovery callback; the alert is closed by hand
  or by the channel's auto-close.
* ``severity``: ``grade`` ``P0`` (severe) critical, ``P2`` (normal) warning; any other grade
  is a warning.
* ``title``: ``name`` (the alarm), then ``probe task <subtask_id>``.
* ``description``: ``remark``, then one ``metric = value (threshold t)`` line per
  ``alarm_detail`` entry.
* ``labels``: ``task_id``, ``subtask_id``, ``account_id``, ``owner``, ``grade`` and one label
  per filter (its key without ``$[...]``, its values comma-joined).
* ``starts_at``: the entry's ``alarm_begin_time`` (China Standard Time when it has no offset).
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Any

from integrations.sources.common import (
    at,
    get_list,
    get_str,
    json_type,
    merge_extra_labels,
    parse_local_time,
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
    stable_key,
)

CHINA_TIME = timezone(timedelta(hours=8), "CST")
GRADES = {"p0": Severity.CRITICAL, "p2": Severity.WARNING}


def recognises(payload: Any) -> bool:
    """An alarm callback: an alarm ``task_id`` with a ``subtask_list`` and a ``grade``."""
    return isinstance(payload, dict) and {"task_id", "subtask_list", "grade"} <= payload.keys()


def parse(payload: Any) -> list[AlertEvent]:
    """One event per probe task of a Cloud-Detect alarm callback (see the module docstring)."""
    body = require_object(payload, None)
    task_id = _identifier(body.get("task_id"), field="task_id")
    subtasks = get_list(body, "subtask_list", field="subtask_list")
    if not subtasks:
        raise PayloadError("subtask_list lists no probe task", field="subtask_list")
    return [
        _event(body, task_id, require_object(item, at("subtask_list", index)), index)
        for index, item in enumerate(subtasks)
    ]


def _event(body: dict[str, Any], task_id: str, subtask: dict[str, Any], index: int) -> AlertEvent:
    field = at("subtask_list", index)
    subtask_id = _identifier(subtask.get("subtask_id"), field=at(field, "subtask_id"))
    filters = _filters(subtask, field=field)
    grade = get_str(body, "grade", field="grade").strip()
    name = get_str(body, "name", field="name").strip() or "Cloud-Detect alarm"
    key = f"volc_detect:{task_id}:{subtask_id}"
    return AlertEvent(
        alert_key=f"{key}:{stable_key(sorted(filters.items()))}" if filters else key,
        kind=EventKind.FIRING,
        title=truncate(f"{name}: probe task {subtask_id}", MAX_TITLE_CHARS),
        severity=severity_from_table(grade, GRADES),
        raw_severity=grade,
        description=truncate(_description(body, subtask, field=field), MAX_DESCRIPTION_CHARS),
        labels=_labels(body, task_id, subtask_id, grade, filters),
        starts_at=parse_local_time(
            subtask.get("alarm_begin_time"), field=at(field, "alarm_begin_time"), tz=CHINA_TIME
        ),
    )


def _identifier(raw: Any, *, field: str) -> str:
    if isinstance(raw, bool) or not isinstance(raw, int | str) or not str(raw).strip():
        raise PayloadError(f"{field} is required (a number), not {json_type(raw)}", field=field)
    return str(raw).strip()


def _filters(subtask: dict[str, Any], *, field: str) -> dict[str, str]:
    """``$[client.isp.name]`` -> ``client.isp.name``, values comma-joined."""
    filters = {}
    for index, item in enumerate(get_list(subtask, "filters", field=at(field, "filters"))):
        entry = require_object(item, at(at(field, "filters"), index))
        key = to_text(entry.get("key") or "").strip()
        if key.startswith("$[") and key.endswith("]"):
            key = key[2:-1]
        values = entry.get("values") or []
        if key:
            text = ",".join(map(to_text, values)) if isinstance(values, list) else to_text(values)
            filters[key] = text
    return filters


def _description(body: dict[str, Any], subtask: dict[str, Any], *, field: str) -> str:
    lines = [get_str(body, "remark", field="remark").strip()]
    for index, item in enumerate(
        get_list(subtask, "alarm_detail", field=at(field, "alarm_detail"))
    ):
        detail = require_object(item, at(at(field, "alarm_detail"), index))
        metric = to_text(detail.get("metric_key") or "value")
        line = f"{metric} = {to_text(detail.get('cur_value'))}"
        if detail.get("threshold") is not None:
            line += f" (threshold {to_text(detail['threshold'])})"
        lines.append(line)
    return "\n".join(line for line in lines if line)


def _labels(
    body: dict[str, Any], task_id: str, subtask_id: str, grade: str, filters: dict[str, str]
) -> dict[str, str]:
    labels = {"task_id": task_id, "subtask_id": subtask_id}
    extra = {
        "account_id": to_text(body.get("account_id") or ""),
        "owner": to_text(body.get("owner") or ""),
        "grade": grade,
        **filters,
    }
    return merge_extra_labels(labels, {key: value for key, value in extra.items() if value})
