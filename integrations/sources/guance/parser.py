"""Guance (观测云) alert events, sent by a Webhook notification target: one event object per
request, with Guance's ``df_*`` event fields.

Field mapping
    * kind: ``df_status`` ``ok`` resolves; every other status fires.
    * alert_key: ``df_monitor_checker_event_ref`` (Guance's reference of a check and its
      dimensions, the same on recovery); else :func:`stable_key` of ``df_monitor_checker_id``
      (required then) and the dimension tags.
    * severity: ``df_status`` through the knowledge base's table (``critical`` and ``fatal``
      critical, ``error`` and ``warning`` warning, ``info`` and ``nodata`` info); any other
      value, and ``ok``, info.
    * title: ``df_title``, else the check's name. description: ``df_message``.
    * labels: ``df_dimension_tags`` (JSON text or an object), then ``df_monitor_checker_name``,
      ``df_monitor_name``, ``df_workspace_name``, ``df_source``, ``df_sub_status``.
    * links: ``df_event_link`` ("Guance").
    * time: ``timestamp`` (else ``date``; Unix seconds or milliseconds).
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    embedded_json,
    first_nonblank,
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
    stable_key,
)

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("critical", Severity.CRITICAL),
    ("fatal", Severity.CRITICAL),
    ("error", Severity.WARNING),
    ("warning", Severity.WARNING),
    ("info", Severity.INFO),
    ("nodata", Severity.INFO),
    ("ok", Severity.INFO),
)
_LABEL_FIELDS = (
    "df_monitor_checker_name",
    "df_monitor_name",
    "df_workspace_name",
    "df_source",
    "df_sub_status",
)


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a push (see the module docstring)."""
    body = require_object(payload, None)
    status = get_str(body, "df_status", field="df_status", required=True).strip()
    dimensions = clean_labels(
        embedded_json(body.get("df_dimension_tags"), field="df_dimension_tags") or None,
        field="df_dimension_tags",
        lenient=True,
    )
    kind = EventKind.RESOLVED if status.lower() == "ok" else EventKind.FIRING
    when = parse_epoch_time(_first(body, "timestamp", "date"), field="timestamp")
    return [
        AlertEvent(
            alert_key=_key(body, dimensions),
            kind=kind,
            title=truncate(_title(body), MAX_TITLE_CHARS),
            severity=severity_from_table(status, SEVERITY_TABLE, default=Severity.INFO),
            raw_severity=status,
            description=truncate(
                get_str(body, "df_message", field="df_message").strip(), MAX_DESCRIPTION_CHARS
            ),
            labels=merge_extra_labels(dimensions, _extra_labels(body)),
            links=optional_link(body.get("df_event_link"), "Guance"),
            starts_at=when if kind == EventKind.FIRING else None,
            ends_at=when if kind == EventKind.RESOLVED else None,
        )
    ]


def recognises(payload: Any) -> bool:
    """Guance's event fields: ``df_status`` with ``df_title`` or ``df_event_id``."""
    return (
        isinstance(payload, dict)
        and "df_status" in payload
        and ("df_title" in payload or "df_event_id" in payload)
    )


def _first(body: dict[str, Any], *keys: str) -> Any:
    return next((body[key] for key in keys if body.get(key) not in (None, "")), None)


def _key(body: dict[str, Any], dimensions: dict[str, str]) -> str:
    ref = to_text(body.get("df_monitor_checker_event_ref") or "").strip()
    if ref:
        return ref
    checker = to_text(body.get("df_monitor_checker_id") or "").strip()
    if not checker:
        raise PayloadError(
            "df_monitor_checker_event_ref (or df_monitor_checker_id) is required",
            field="df_monitor_checker_event_ref",
        )
    return stable_key("guance", checker, dimensions)


def _title(body: dict[str, Any]) -> str:
    return first_nonblank(
        get_str(body, "df_title", field="df_title"),
        to_text(body.get("df_monitor_checker_name") or ""),
        "Guance event",
    ).strip()


def _extra_labels(body: dict[str, Any]) -> dict[str, str]:
    values = {key: to_text(body.get(key) or "").strip() for key in _LABEL_FIELDS}
    return {key: value for key, value in values.items() if value}
