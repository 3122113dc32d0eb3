"""Alibaba Cloud CloudMonitor system events, pushed by an event subscription's webhook push
channel (method POST, data format JSON). One request is one event.

Field mapping
    * alert_key: :func:`stable_key` of ``product``, ``resourceId`` (else ``instanceName``) and
      the event ``name`` without its phase: Alibaba names the stages of one event
      ``Instance:SystemMaintenance.Reboot:Executing`` / ``...:Executed``, so both stages are one
      alert (a name with one colon, ``Instance:StateChange``, is kept whole).
    * kind: firing, except that the stages that close an event resolve it: ``status`` (or the
      name's phase) ``Executed``, ``Resolved``, ``Recovered``, ``Canceled``, ``Avoided``.
    * severity: ``level`` through the knowledge base's table (``CRITICAL`` critical,
      ``WARNING`` warning, ``INFO`` info); other words (``WARN``) as common severity words,
      else warning.
    * title: ``product``, ``name`` and ``instanceName``.
    * description: the event's ``content`` object, one ``key: value`` line per field.
    * labels: ``product``, ``name``, ``regionId``, ``instanceName``, ``resourceId``,
      ``groupId``, ``status``, then the scalar fields of ``content`` in free slots.
    * time: ``eventTime`` or ``time``: Unix milliseconds, ISO 8601, or Alibaba's
      ``20241112T103000.123+0800``, when present.

Keys are read whatever the case of their first letter: the callback documents ``product``,
``resourceId``, ...; events as other Alibaba services document them say ``Product``,
``ResourceId``, ``Time``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from integrations.sources.common import (
    first_nonblank,
    get_str,
    map_severity,
    merge_extra_labels,
    optional_object,
    parse_epoch_time,
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

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("CRITICAL", Severity.CRITICAL),
    ("WARNING", Severity.WARNING),
    ("INFO", Severity.INFO),
)
# The stages that end an event (Alibaba's system-event status values).
CLOSING_STAGES = frozenset({"executed", "resolved", "recovered", "canceled", "avoided"})
_LABEL_FIELDS = ("product", "name", "regionId", "instanceName", "resourceId", "groupId", "status")


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a push (see the module docstring)."""
    body = _normalised(require_object(payload, None))
    name = get_str(body, "name", field="name", required=True).strip()
    fields = {key: get_str(body, key, field=key).strip() for key in _LABEL_FIELDS if key != "name"}
    content = optional_object(body, "content", field="content")
    event_name, phase = _split_phase(name)
    closing = {fields["status"].lower(), phase.lower()} & CLOSING_STAGES
    resource = first_nonblank(fields["resourceId"], fields["instanceName"])
    raw_severity = _level(body)
    when = _event_time(body.get("eventTime", body.get("time")))
    kind = EventKind.RESOLVED if closing else EventKind.FIRING
    return [
        AlertEvent(
            alert_key=stable_key("aliyun_cms_event", fields["product"], resource, event_name),
            kind=kind,
            title=truncate(
                _title(fields["product"], name, fields["instanceName"]), MAX_TITLE_CHARS
            ),
            severity=severity_from_table(
                raw_severity, SEVERITY_TABLE, default=map_severity(raw_severity)
            ),
            raw_severity=raw_severity,
            description=truncate(_describe(content), MAX_DESCRIPTION_CHARS),
            labels=_labels(name, fields, content),
            starts_at=when if kind == EventKind.FIRING else None,
            ends_at=when if kind == EventKind.RESOLVED else None,
        )
    ]


def recognises(payload: Any) -> bool:
    """A system event: ``product``, ``name``, ``level`` and a ``resourceId`` or ``content``."""
    if not isinstance(payload, dict):
        return False
    body = _normalised(payload)
    return all(key in body for key in ("product", "name", "level")) and (
        "resourceId" in body or "content" in body
    )


def _normalised(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` with each key's first letter in lower case (``ResourceId`` -> ``resourceId``)."""
    return {
        (key[:1].lower() + key[1:] if isinstance(key, str) else key): v for key, v in body.items()
    }


def _split_phase(name: str) -> tuple[str, str]:
    """``("Instance:X.Reboot", "Executing")`` for ``Instance:X.Reboot:Executing``."""
    parts = name.split(":")
    if len(parts) >= 3:
        return ":".join(parts[:-1]), parts[-1]
    return name, ""


def _level(body: dict[str, Any]) -> str:
    value = body.get("level")
    return "" if value is None else to_text(value).strip()


def _event_time(raw: Any) -> datetime | None:
    if isinstance(raw, int | float) or (isinstance(raw, str) and raw.strip().isdigit()):
        return parse_epoch_time(raw, field="eventTime")
    if not isinstance(raw, str) or not raw.strip():
        return parse_time(raw, field="eventTime")
    try:
        return parse_time(raw, field="eventTime")
    except PayloadError:
        pass
    try:
        return datetime.strptime(raw.strip(), "%Y%m%dT%H%M%S.%f%z")
    except ValueError:
        raise PayloadError(
            f"eventTime is not a time: {truncate(raw, 64)!r}", field="eventTime"
        ) from None


def _title(product: str, name: str, instance: str) -> str:
    title = f"{product} {name}".strip()
    return f"{title} - {instance}" if instance else title


def _describe(content: dict[str, Any]) -> str:
    return "\n".join(f"{key}: {to_text(value)}" for key, value in content.items())


def _labels(name: str, fields: dict[str, str], content: dict[str, Any]) -> dict[str, str]:
    labels = {"name": name, **{key: value for key, value in fields.items() if value}}
    scalars = {
        key: to_text(value)
        for key, value in content.items()
        if isinstance(value, str | int | float | bool)
    }
    return merge_extra_labels(labels, scalars)
