"""Uptime Kuma's notifications, in the two shapes a user can point at the console.

Webhook notification type (Content Type: application/json)
    ``{"heartbeat": {...}, "monitor": {...}, "msg": "..."}``, one per monitor state change.

    * ``alert_key``: ``monitor.id`` (else ``heartbeat.monitorID``), as text. Required.
    * ``kind``: ``heartbeat.status`` 0 (down) fires, 1 (up) resolves; 2 (pending) and 3
      (maintenance) give no event. A body without a heartbeat is Uptime Kuma's "Test"
      button: no event either.
    * ``severity``: Uptime Kuma sends none; the source's ``severity`` option (Critical, Warning or
      Info, as the knowledge base's table; default Critical) decides.
    * ``title``: "<monitor name> is down" / "is up". ``description``: ``heartbeat.msg``, then
      ``msg``.
    * ``labels``: the monitor's tags that have a value (as the knowledge base says), then
      ``monitor`` (name), ``monitor_type`` and ``resource`` (the URL, or host[:port]).
    * ``links``: the monitored URL when it is http(s). ``starts_at`` / ``ends_at``: the
      heartbeat's ``time`` (UTC).

FlashDuty notification type, its integration key set to the push URL
    The console's standard protocol (``title``, ``event_status``, ``alert_key`` = the monitor
    id, ``labels``), read by :mod:`integrations.sources.standard.parser`, so both types give
    the same monitor the same key.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    clean_labels,
    get_list,
    get_str,
    json_type,
    merge_extra_labels,
    optional_link,
    optional_object,
    parse_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from integrations.sources.standard import parser as standard
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
)

SEVERITY_TABLE = (
    ("Critical", Severity.CRITICAL),
    ("Warning", Severity.WARNING),
    ("Info", Severity.INFO),
)
DEFAULT_SEVERITY = "Critical"
# https://github.com/louislam/uptime-kuma/blob/master/src/util.ts (DOWN, UP, PENDING, MAINTENANCE)
_KINDS = {0: EventKind.FIRING, 1: EventKind.RESOLVED, 2: None, 3: None}


def parse(payload: Any, *, severity: str = DEFAULT_SEVERITY) -> list[AlertEvent]:
    """The events of one notification; ``severity`` is the source's option for webhooks."""
    body = require_object(payload, None)
    if "event_status" in body:
        return standard.parse(body)
    if "heartbeat" not in body and "monitor" not in body:
        raise PayloadError(
            "the payload is neither Uptime Kuma's webhook (no 'heartbeat') "
            "nor its FlashDuty notification (no 'event_status')",
            field="heartbeat",
        )
    heartbeat = optional_object(body, "heartbeat", field="heartbeat")
    if not heartbeat:
        return []  # The notification's "Test" button sends a message only.
    kind = _kind(heartbeat)
    if kind is None:
        return []
    monitor = optional_object(body, "monitor", field="monitor")
    name = get_str(monitor, "name", field="monitor.name").strip() or "Uptime Kuma monitor"
    at_time = parse_time(heartbeat.get("time"), field="heartbeat.time")
    firing = kind == EventKind.FIRING
    return [
        AlertEvent(
            alert_key=_key(monitor, heartbeat),
            kind=kind,
            title=truncate(f"{name} is {'down' if firing else 'up'}", MAX_TITLE_CHARS),
            severity=severity_from_table(severity, SEVERITY_TABLE, Severity.CRITICAL),
            raw_severity=severity,
            description=truncate(_description(body, heartbeat), MAX_DESCRIPTION_CHARS),
            labels=_labels(monitor, name),
            links=optional_link(_url(monitor), "Monitored URL"),
            starts_at=at_time if firing else None,
            ends_at=None if firing else at_time,
        )
    ]


def recognises(payload: Any) -> bool:
    """The Webhook type's ``heartbeat`` and ``monitor``. (The FlashDuty type's body is the
    standard protocol, which the ``standard`` kind recognises.)"""
    return isinstance(payload, dict) and "heartbeat" in payload and "monitor" in payload


def _kind(heartbeat: dict[str, Any]) -> EventKind | None:
    status = heartbeat.get("status")
    if isinstance(status, bool) or status not in _KINDS:
        raise PayloadError(
            "heartbeat.status must be 0 (down), 1 (up), 2 (pending) or 3 (maintenance), "
            f"not {to_text(status) if not isinstance(status, dict | list) else json_type(status)}",
            field="heartbeat.status",
        )
    return _KINDS[status]


def _key(monitor: dict[str, Any], heartbeat: dict[str, Any]) -> str:
    for value, field in ((monitor.get("id"), "monitor.id"), (heartbeat.get("monitorID"), None)):
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
        if value is not None and field:
            raise PayloadError(f"{field} must be a number, not {json_type(value)}", field=field)
    raise PayloadError("monitor.id is required to identify the monitor", field="monitor.id")


def _description(body: dict[str, Any], heartbeat: dict[str, Any]) -> str:
    detail = get_str(heartbeat, "msg", field="heartbeat.msg").strip()
    message = get_str(body, "msg", field="msg").strip()
    return "\n\n".join(part for part in dict.fromkeys((detail, message)) if part)


def _labels(monitor: dict[str, Any], name: str) -> dict[str, str]:
    tags = {}
    for index, item in enumerate(get_list(monitor, "tags", field="monitor.tags")):
        where = at("monitor.tags", index)
        tag = require_object(item, where)
        key = get_str(tag, "name", field=at(where, "name")).strip()
        value = tag.get("value")
        if key and value not in (None, ""):
            tags[key] = value
    extra = {
        "monitor": name,
        "monitor_type": get_str(monitor, "type", field="monitor.type"),
        "resource": _resource(monitor),
    }
    labels = clean_labels(tags, field="monitor.tags", lenient=True)
    return merge_extra_labels(labels, {key: value for key, value in extra.items() if value})


def _resource(monitor: dict[str, Any]) -> str:
    host = monitor.get("hostname")
    if isinstance(host, str) and host.strip():
        port = monitor.get("port")
        return f"{host.strip()}:{port}" if port and monitor.get("type") == "port" else host.strip()
    return _url(monitor)


def _url(monitor: dict[str, Any]) -> str:
    # Monitors that are not HTTP keep Uptime Kuma's placeholder URL "https://".
    url = get_str(monitor, "url", field="monitor.url").strip()
    return "" if url.rstrip("/").lower() in ("http:", "https:") else url
