"""Alibaba Cloud CloudMonitor's threshold-alert callback ("alert callback" URL of an alert
rule, or a contact's webhook). CloudMonitor posts the alert as form fields
(``application/x-www-form-urlencoded``, one string per field); the same fields as a JSON object
are read too.

Field mapping
    * kind: ``alertState`` ``ALERT`` (``ALARM`` in some samples) and ``INSUFFICIENT_DATA`` fire,
      ``OK`` resolves; anything else is a ``PayloadError``.
    * alert_key: :func:`stable_key` of ``ruleId`` (else ``alertName``), ``namespace`` /
      ``metricProject``, ``metricName`` and the dimensions, so that each instance of a rule is
      its own alert and its recovery finds it.
    * severity: ``triggerLevel`` through the knowledge base's table (``CRITICAL`` critical,
      ``WARN`` warning, ``INFO`` and ``NODATA`` info); missing, warning, except that no data
      (``INSUFFICIENT_DATA``) without a level counts as ``NODATA``.
    * title: ``alertName`` (else the metric's name), with ``instanceName`` after a dash.
    * description: the metric and its current value (``curValue``), the rule's condition
      (``expression``), how long it has lasted (``lastTime``).
    * labels: the dimensions (``instanceId``, ``device``, ...), then ``namespace``,
      ``metricName``, ``instanceName``, ``regionId``, ``regionName``, ``groupId``,
      ``productGroupName``, ``ruleId``, ``userId`` when set.
    * time: ``timestamp`` (Unix seconds or milliseconds), the start of a firing alert and the
      end of a resolved one.

``dimensions`` arrives as JSON text (an object, or an array of objects as in the sample) or in
Java's map notation (``{instanceId=i-1, userId=1}``); all three are read.
"""

from __future__ import annotations

import json
import re
from typing import Any

from integrations.sources.common import (
    clean_labels,
    first_nonblank,
    json_type,
    merge_extra_labels,
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
    stable_key,
)

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("CRITICAL", Severity.CRITICAL),
    ("WARN", Severity.WARNING),
    ("INFO", Severity.INFO),
    ("NODATA", Severity.INFO),
)
_STATES = {
    "ALERT": EventKind.FIRING,
    "ALARM": EventKind.FIRING,
    "INSUFFICIENT_DATA": EventKind.FIRING,
    "OK": EventKind.RESOLVED,
}
_LABEL_FIELDS = (
    "namespace",
    "metricName",
    "instanceName",
    "regionId",
    "regionName",
    "groupId",
    "productGroupName",
    "ruleId",
    "userId",
)
_JAVA_MAP = re.compile(r"^\{(.*)\}$", re.DOTALL)


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a callback (see the module docstring)."""
    body = require_object(payload, None)
    fields = {key: _text(value) for key, value in body.items()}
    kind = _kind(fields)
    dimensions = _dimensions(body.get("dimensions"))
    rule = first_nonblank(fields.get("ruleId", ""), fields.get("alertName", ""))
    if not rule:
        raise PayloadError("alertName is required (or ruleId)", field="alertName")
    namespace = first_nonblank(fields.get("namespace", ""), fields.get("metricProject", ""))
    metric = fields.get("metricName", "").strip()
    raw_severity = fields.get("triggerLevel", "").strip()
    if not raw_severity and fields["alertState"].strip().upper() == "INSUFFICIENT_DATA":
        raw_severity = "NODATA"
    when = parse_epoch_time(fields.get("timestamp"), field="timestamp")
    return [
        AlertEvent(
            alert_key=stable_key("aliyun_cms_metric", rule, namespace, metric, dimensions),
            kind=kind,
            title=truncate(_title(fields, metric), MAX_TITLE_CHARS),
            severity=severity_from_table(raw_severity, SEVERITY_TABLE),
            raw_severity=raw_severity,
            description=truncate(_description(fields, metric), MAX_DESCRIPTION_CHARS),
            labels=_labels(dimensions, fields, namespace),
            starts_at=when if kind == EventKind.FIRING else None,
            ends_at=when if kind == EventKind.RESOLVED else None,
        )
    ]


def recognises(payload: Any) -> bool:
    """CloudMonitor's callback fields: ``alertState`` with ``triggerLevel`` or a metric."""
    return (
        isinstance(payload, dict)
        and "alertState" in payload
        and any(key in payload for key in ("triggerLevel", "metricProject", "metricName"))
    )


def _text(value: Any) -> str:
    # Form fields are strings already; a JSON body may carry numbers (curValue, timestamp).
    return "" if value is None else to_text(value)


def _kind(fields: dict[str, str]) -> EventKind:
    state = fields.get("alertState", "")
    if not state.strip():
        raise PayloadError("alertState is required", field="alertState")
    try:
        return _STATES[state.strip().upper()]
    except KeyError:
        raise PayloadError(
            f"alertState must be ALERT, INSUFFICIENT_DATA or OK, not {truncate(state, 40)!r}",
            field="alertState",
        ) from None


def _dimensions(raw: Any) -> dict[str, str]:
    """The alert's dimensions as ``{name: value}`` from any of the shapes CloudMonitor sends."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        raw = _decode_dimensions(raw)
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise PayloadError(
            f"dimensions must be an object or an array of objects, not {json_type(raw)}",
            field="dimensions",
        )
    merged = {key: value for item in raw for key, value in item.items()}
    return clean_labels(merged, field="dimensions", lenient=True)


def _decode_dimensions(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        pass
    java = _JAVA_MAP.match(text.strip())
    if not java:
        raise PayloadError(
            f"dimensions is neither JSON nor {{name=value, ...}}: {truncate(text, 64)!r}",
            field="dimensions",
        )
    pairs = [part.split("=", 1) for part in java.group(1).split(",") if part.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise PayloadError(
            f"dimensions has an entry without '=': {truncate(text, 64)!r}", field="dimensions"
        )
    return {name.strip(): value.strip() for name, value in pairs}


def _title(fields: dict[str, str], metric: str) -> str:
    name = first_nonblank(fields.get("alertName", ""), metric, "CloudMonitor alert").strip()
    instance = fields.get("instanceName", "").strip()
    return f"{name} - {instance}" if instance else name


def _description(fields: dict[str, str], metric: str) -> str:
    lines = []
    value = fields.get("curValue", "").strip()
    if metric or value:
        lines.append(f"{metric or 'Value'}: {value or '-'}")
    for key, text in (("expression", "Condition"), ("lastTime", "Lasted")):
        if fields.get(key, "").strip():
            lines.append(f"{text}: {fields[key].strip()}")
    return "\n".join(lines)


def _labels(dimensions: dict[str, str], fields: dict[str, str], namespace: str) -> dict[str, str]:
    extra = {key: fields[key].strip() for key in _LABEL_FIELDS if fields.get(key, "").strip()}
    if namespace:
        extra["namespace"] = namespace
    return merge_extra_labels(dimensions, extra)
