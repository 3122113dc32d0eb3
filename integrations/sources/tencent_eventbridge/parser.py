"""Tencent Cloud EventBridge events, delivered by an event rule whose target is a message push
to a custom webhook (API callback).

Tencent Cloud's events follow CloudEvents 1.0 (``specversion``, ``id``, ``source`` such as
``cvm.cloud.tencent``, ``type``, ``subject`` naming the resource, ``time`` in milliseconds,
``region``, ``status``, ``data``). One event is one alert event:

* ``alert_key``: ``tencent_eb:`` and a digest of ``source``, ``type`` and ``subject``, so the
  same event type on the same resource merges (each delivery has a new ``id``).
* ``kind``: ``status`` ``"0"`` (the product says the resource is back to normal) resolves;
  anything else (``"1"`` abnormal, ``"-"`` no state, missing) fires.
* ``severity``: warning, always (the knowledge base: every EventBridge event is a warning).
* ``title``: ``type`` and the resource (the last part of ``subject``).
* ``description``: one ``key: value`` line per entry of ``data``.
* ``labels``: ``source``, ``type``, ``region``, ``subject``, then ``data``'s entries (as text)
  in free slots.
* ``starts_at``: ``time``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    get_str,
    merge_extra_labels,
    optional_object,
    parse_epoch_time,
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
    stable_key,
)


def recognises(payload: Any) -> bool:
    """A CloudEvent from a Tencent Cloud product (``source`` ends in ``.cloud.tencent``)."""
    return (
        isinstance(payload, dict)
        and "specversion" in payload
        and isinstance(payload.get("source"), str)
        and payload["source"].endswith(".cloud.tencent")
    )


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one EventBridge delivery (see the module docstring)."""
    body = require_object(payload, None)
    source = get_str(body, "source", field="source", required=True).strip()
    event_type = get_str(body, "type", field="type", required=True).strip()
    subject = get_str(body, "subject", field="subject").strip()
    data = optional_object(body, "data", field="data")
    resource = subject.rsplit("/", 1)[-1]
    title = f"{event_type} on {resource}" if resource else event_type
    return [
        AlertEvent(
            alert_key=f"tencent_eb:{stable_key(source, event_type, subject)}",
            kind=_kind(body),
            title=truncate(title, MAX_TITLE_CHARS),
            severity=Severity.WARNING,
            description=truncate(
                "\n".join(f"{key}: {to_text(value)}" for key, value in data.items()),
                MAX_DESCRIPTION_CHARS,
            ),
            labels=_labels(body, source, event_type, subject, data),
            starts_at=parse_epoch_time(body.get("time"), field="time"),
        )
    ]


def _kind(body: dict[str, Any]) -> EventKind:
    status = body.get("status")
    if isinstance(status, dict | list | bool):
        raise PayloadError('status must be a string such as "1" or "0"', field="status")
    return EventKind.RESOLVED if to_text(status).strip().strip('"') == "0" else EventKind.FIRING


def _labels(
    body: dict[str, Any], source: str, event_type: str, subject: str, data: dict[str, Any]
) -> dict[str, str]:
    region = get_str(body, "region", field="region").strip()
    labels = {"source": source, "type": event_type}
    labels.update(
        {key: value for key, value in (("region", region), ("subject", subject)) if value}
    )
    return merge_extra_labels(
        labels, {key: to_text(value) for key, value in data.items() if value not in (None, "")}
    )
