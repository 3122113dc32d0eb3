"""InfluxDB alerts, in the two shapes InfluxData's versions post.

InfluxDB 2.x: an HTTP notification endpoint (a notification rule's message)
    One flat object per status: ``_check_id``, ``_check_name``, ``_level`` (``crit``, ``warn``,
    ``info``, ``ok``, ``unknown``), ``_message``, ``_notification_rule_name``,
    ``_source_measurement``, ``_time``, ... plus the series' tag columns (strings) and field
    values (numbers).

    * ``alert_key``: :func:`stable_key` of ``_check_id`` and the string-valued columns without
      a leading ``_`` (the tags): one alert per check and series.
    * ``kind``: ``_level`` ``ok`` resolves; any other fires.
    * ``title``: ``_message``, else "<_check_name> is <_level>". ``description``: ``_message``
      and the field values. ``labels``: the tags, then ``check`` and ``measurement``.
    * ``starts_at`` / ``ends_at``: ``_time``.

InfluxDB 1.x: Chronograf / Kapacitor's ``post`` alert handler
    ``{"id", "message", "details", "time", "level", "previousLevel", "data": {"series"}}``.

    * ``alert_key``: ``id`` (Kapacitor's alert id: the task and the group).
    * ``kind``: ``level`` ``OK`` resolves; any other fires.
    * ``title``: ``message``, else ``id``. ``description``: ``message`` then ``details`` when it
      says more. ``labels``: the first series' tags, then ``measurement``.
    * ``starts_at`` / ``ends_at``: ``time``.

Severity, both shapes, by the knowledge base's table: CRITICAL critical, WARNING warning, INFO
info, anything else info; 2.x's ``crit`` and ``warn`` are read as CRITICAL and WARNING.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    clean_labels,
    get_list,
    get_str,
    merge_extra_labels,
    optional_object,
    parse_time,
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

SEVERITY_TABLE = (
    ("CRITICAL", Severity.CRITICAL),
    ("WARNING", Severity.WARNING),
    ("INFO", Severity.INFO),
    ("unknown", Severity.INFO),
)
# InfluxDB 2.x's own level words.
_V2_TABLE = (*SEVERITY_TABLE, ("crit", Severity.CRITICAL), ("warn", Severity.WARNING))


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of an InfluxDB 2.x or Kapacitor notification (see the module docstring)."""
    body = require_object(payload, None)
    if "_check_id" in body or "_level" in body:
        return [_v2_event(body)]
    if "level" in body and "id" in body:
        return [_kapacitor_event(body)]
    raise PayloadError(
        "the payload is neither an InfluxDB 2 notification (no '_check_id') "
        "nor a Kapacitor alert (no 'id' and 'level')",
        field="_check_id",
    )


def recognises(payload: Any) -> bool:
    """2.x: ``_check_id`` and ``_level``; Kapacitor: ``id``, ``level`` and ``data.series``."""
    if not isinstance(payload, dict):
        return False
    if {"_check_id", "_level"} <= payload.keys():
        return True
    data = payload.get("data")
    return {"id", "level"} <= payload.keys() and isinstance(data, dict) and "series" in data


# --- InfluxDB 2.x -----------------------------------------------------------------------------


def _v2_event(body: dict[str, Any]) -> AlertEvent:
    check_id = get_str(body, "_check_id", field="_check_id", required=True).strip()
    level = get_str(body, "_level", field="_level", required=True).strip()
    tags = {k: v for k, v in body.items() if not k.startswith("_") and isinstance(v, str)}
    values = {k: v for k, v in body.items() if not k.startswith("_") and not isinstance(v, str)}
    check = get_str(body, "_check_name", field="_check_name").strip()
    message = get_str(body, "_message", field="_message").strip()
    when = parse_time(body.get("_time"), field="_time")
    resolved = level.lower() == "ok"
    extra = {
        "check": check,
        "measurement": get_str(body, "_source_measurement", field="_source_measurement"),
    }
    value_line = ", ".join(f"{key}={to_text(value)}" for key, value in values.items())
    return AlertEvent(
        alert_key=stable_key("influxdb2", check_id, sorted(tags.items())),
        kind=EventKind.RESOLVED if resolved else EventKind.FIRING,
        title=truncate(message or f"{check or check_id} is {level}", MAX_TITLE_CHARS),
        severity=severity_from_table(level, _V2_TABLE, Severity.INFO),
        raw_severity=level,
        description=truncate(
            "\n".join(p for p in (message, f"Values: {value_line}" if value_line else "") if p),
            MAX_DESCRIPTION_CHARS,
        ),
        labels=merge_extra_labels(
            clean_labels(tags, field="tags", lenient=True), {k: v for k, v in extra.items() if v}
        ),
        starts_at=None if resolved else when,
        ends_at=when if resolved else None,
    )


# --- Kapacitor (InfluxDB 1.x) ------------------------------------------------------------------


def _kapacitor_event(body: dict[str, Any]) -> AlertEvent:
    alert_id = get_str(body, "id", field="id", required=True).strip()
    level = get_str(body, "level", field="level", required=True).strip()
    message = get_str(body, "message", field="message").strip()
    details = get_str(body, "details", field="details").strip()
    series = _first_series(body)
    when = parse_time(body.get("time"), field="time")
    resolved = level.upper() == "OK"
    tags = clean_labels(series.get("tags"), field="data.series[0].tags", lenient=True)
    measurement = get_str(series, "name", field="data.series[0].name")
    return AlertEvent(
        alert_key=alert_id,
        kind=EventKind.RESOLVED if resolved else EventKind.FIRING,
        title=truncate(message or alert_id, MAX_TITLE_CHARS),
        severity=severity_from_table(level, SEVERITY_TABLE, Severity.INFO),
        raw_severity=level,
        description=truncate(
            "\n\n".join(p for p in dict.fromkeys((message, details)) if p), MAX_DESCRIPTION_CHARS
        ),
        labels=merge_extra_labels(tags, {"measurement": measurement} if measurement else {}),
        starts_at=None if resolved else when,
        ends_at=when if resolved else None,
    )


def _first_series(body: dict[str, Any]) -> dict[str, Any]:
    data = optional_object(body, "data", field="data")
    series = get_list(data, "series", field="data.series")
    return require_object(series[0], at("data.series", 0)) if series else {}
