"""Huawei Cloud Log Tank Service (LTS) log alarms, delivered by an alarm action rule through an
SMN topic to an HTTPS subscription, with a message template of data type JSON. The SMN
envelope is read by :mod:`integrations.sources.huawei_ces.smn`; the message is the alarm as an
AOM-style event (LTS reports its alarms through AOM's event model).

Field mapping (of the message)
    * alert_key: ``event_sn`` (the alarm's serial number, the same on its recovery); else
      :func:`stable_key` of ``metadata.event_name``, ``resource_id``, ``log_group_name`` and
      ``log_stream_name``.
    * kind: resolved when ``ends_at`` is set (above 0) or the status (``alarm_status`` of
      ``annotations`` or ``metadata``, or ``event_status``) is ``ok``, ``resolved``,
      ``cleared`` or ``recovered``; otherwise firing.
    * severity: ``metadata.event_severity`` through the knowledge base's table (``Critical``
      critical, ``Major`` warning, ``Minor`` and ``Info`` info); else warning.
    * title: ``metadata.event_name`` (the alarm rule), else the SMN subject.
    * description: ``annotations.message`` (else ``annotations.alarm_probableCause_en_us``).
    * labels: the scalar fields of ``metadata`` (``log_group_name``, ``log_stream_name``,
      ``resource_id``, ``resource_provider``, ...), then those of ``annotations`` but the
      message.
    * links: ``annotations.query_url`` ("Logs") when it is an http(s) URL.
    * time: ``starts_at`` and ``ends_at`` (Unix milliseconds).
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    first_nonblank,
    json_type,
    merge_extra_labels,
    optional_link,
    optional_object,
    parse_epoch_time,
    severity_from_table,
    to_text,
    truncate,
)
from integrations.sources.huawei_ces import smn
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
    ("Critical", Severity.CRITICAL),
    ("Major", Severity.WARNING),
    ("Minor", Severity.INFO),
    ("Info", Severity.INFO),
)
RECOVERED_WORDS = frozenset({"ok", "resolved", "cleared", "recovered"})
_DESCRIPTION_KEYS = ("message", "alarm_probableCause_en_us")


def parse(payload: Any) -> list[AlertEvent]:
    """The alarm of one SMN notification (see the module docstring)."""
    message, subject = smn.message_of(payload)
    if not isinstance(message, dict):
        raise PayloadError(
            f"message must be the JSON alarm of an LTS message template of data type JSON, "
            f"not {json_type(message)}",
            field="message",
        )
    metadata = optional_object(message, "metadata", field="metadata")
    annotations = optional_object(message, "annotations", field="annotations")
    meta = _scalars(metadata)
    name = first_nonblank(meta.get("event_name", ""), subject)
    if not name:
        raise PayloadError("metadata.event_name is required", field="metadata.event_name")
    ends_at = parse_epoch_time(message.get("ends_at"), field="ends_at")
    kind = _kind(message, meta, _scalars(annotations), ends_at)
    raw_severity = meta.get("event_severity", "")
    return [
        AlertEvent(
            alert_key=_key(message, meta, name),
            kind=kind,
            title=truncate(name, MAX_TITLE_CHARS),
            severity=severity_from_table(raw_severity, SEVERITY_TABLE),
            raw_severity=raw_severity,
            description=truncate(_description(annotations), MAX_DESCRIPTION_CHARS),
            labels=merge_extra_labels(
                meta, _scalars(annotations), skip=(*_DESCRIPTION_KEYS, "query_url")
            ),
            links=optional_link(annotations.get("query_url"), "Logs"),
            starts_at=parse_epoch_time(message.get("starts_at"), field="starts_at"),
            ends_at=ends_at if kind == EventKind.RESOLVED else None,
        )
    ]


def recognises(payload: Any) -> bool:
    """An alarm event whose metadata names a log group or LTS as its provider."""
    message = smn.inner_object(payload)
    metadata = message.get("metadata") if message else None
    return isinstance(metadata, dict) and (
        "log_group_name" in metadata or str(metadata.get("resource_provider", "")) == "LTS"
    )


def _scalars(obj: dict[str, Any]) -> dict[str, str]:
    return {
        key: to_text(value).strip()
        for key, value in obj.items()
        if isinstance(value, str | int | float | bool) and to_text(value).strip()
    }


def _kind(
    message: dict[str, Any], meta: dict[str, str], notes: dict[str, str], ends_at: Any
) -> EventKind:
    statuses = {
        notes.get("alarm_status", ""),
        meta.get("alarm_status", ""),
        to_text(message.get("event_status") or ""),
    }
    if ends_at is not None or {status.lower() for status in statuses} & RECOVERED_WORDS:
        return EventKind.RESOLVED
    return EventKind.FIRING


def _key(message: dict[str, Any], meta: dict[str, str], name: str) -> str:
    serial = to_text(message.get("event_sn") or "").strip()
    if serial:
        return serial
    parts = [meta.get(key, "") for key in ("resource_id", "log_group_name", "log_stream_name")]
    return stable_key("huawei_lts", name, *parts)


def _description(annotations: dict[str, Any]) -> str:
    texts = [to_text(annotations.get(key) or "") for key in _DESCRIPTION_KEYS]
    return first_nonblank(*texts).strip()
