"""Cisco Meraki dashboard webhooks in Meraki's own payload template ("Meraki (included)"): one
alert per request, with ``version``, ``sharedSecret``, ``sentAt``, the organization, network and
(for device alerts) device fields, ``alertId``, ``alertType`` (its words), ``alertTypeId`` (its
code), ``alertLevel``, ``occurredAt`` and ``alertData`` (fields of that alert type).

* ``alert_key``: ``meraki:<alertTypeId>:<scope>``, the scope being ``deviceSerial`` for a
  device alert, else ``networkId``, else ``organizationId``; so a repeated alert of one type on
  one device merges. A device's "came up" (``started_reporting``, :data:`RECOVERY_PAIRS`) shares
  the key of its "went down" (``stopped_reporting``).
  ``alertTypeId`` is required (``alertType`` stands in for older payloads without it).
* ``kind``: a recovering type of :data:`RECOVERY_PAIRS` resolves; everything else fires
  (Meraki sends no "resolved" for most alert types, which stay open until closed here).
* ``severity``: ``alertLevel`` through :data:`SEVERITY_TABLE` (critical, warning,
  informational); others are warning.
* ``title``: ``alertType`` on ``deviceName`` (or ``networkName``).
* ``description``: ``alertData`` as ``key = value`` lines.
* ``labels``: ``organization``, ``network``, ``device``, ``device_serial``, ``device_model``,
  ``alert_type_id``, ``alert_id``, ``network_tags`` / ``device_tags`` (space separated).
* ``links``: ``deviceUrl`` ("Device"), ``networkUrl`` ("Network").

``sharedSecret`` is checked by the source (``source.py``) when one is set, never copied into the
event.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    bounded_alert_key,
    clean_labels,
    get_list,
    get_str,
    optional_link,
    optional_object,
    parse_time,
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

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("critical", Severity.CRITICAL),
    ("warning", Severity.WARNING),
    ("informational", Severity.INFO),
)
_SEVERITIES = dict(SEVERITY_TABLE)
# Recovering alert type -> the alert type it resolves (Meraki's device up/down alerts).
# Only the device "went down" / "came up" pair: the other alert types name no recovery.
RECOVERY_PAIRS: dict[str, str] = {"started_reporting": "stopped_reporting"}


def recognises(payload: Any) -> bool:
    return (
        isinstance(payload, dict)
        and "alertType" in payload
        and "organizationId" in payload
        and "alertData" in payload
    )


def shared_secret(payload: Any) -> str:
    """The ``sharedSecret`` the request carries ("" when none or not a string)."""
    value = payload.get("sharedSecret") if isinstance(payload, dict) else None
    return value if isinstance(value, str) else ""


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    type_id = _text(body, "alertTypeId") or _text(body, "alertType")
    if not type_id:
        raise PayloadError("alertTypeId is required", field="alertTypeId")
    raw_level = _text(body, "alertLevel")
    recovering = type_id in RECOVERY_PAIRS
    occurred = parse_time(body.get("occurredAt"), field="occurredAt")
    data = optional_object(body, "alertData", field="alertData")
    return [
        AlertEvent(
            alert_key=bounded_alert_key(
                f"meraki:{RECOVERY_PAIRS.get(type_id, type_id)}:{_scope(body)}"
            ),
            kind=EventKind.RESOLVED if recovering else EventKind.FIRING,
            title=truncate(_title(body, type_id), MAX_TITLE_CHARS),
            severity=_SEVERITIES.get(raw_level.lower(), Severity.WARNING),
            raw_severity=raw_level,
            description=truncate(
                "\n".join(f"{key} = {to_text(value)}" for key, value in data.items()),
                MAX_DESCRIPTION_CHARS,
            ),
            labels=_labels(body),
            links=optional_link(_text(body, "deviceUrl"), "Device")
            + optional_link(_text(body, "networkUrl"), "Network"),
            starts_at=None if recovering else occurred,
            ends_at=occurred if recovering else None,
        )
    ]


def _text(body: dict[str, Any], key: str) -> str:
    return get_str(body, key, field=key).strip()


def _scope(body: dict[str, Any]) -> str:
    for key in ("deviceSerial", "networkId", "organizationId"):
        if value := _text(body, key):
            return value
    raise PayloadError(
        "deviceSerial, networkId or organizationId is required to identify the alert",
        field="networkId",
    )


def _title(body: dict[str, Any], type_id: str) -> str:
    what = _text(body, "alertType") or type_id
    where = _text(body, "deviceName") or _text(body, "networkName")
    return f"{what} on {where}" if where else what


def _labels(body: dict[str, Any]) -> dict[str, str]:
    values = {
        "organization": _text(body, "organizationName"),
        "network": _text(body, "networkName"),
        "device": _text(body, "deviceName"),
        "device_serial": _text(body, "deviceSerial"),
        "device_model": _text(body, "deviceModel"),
        "alert_type_id": _text(body, "alertTypeId"),
        "alert_id": _text(body, "alertId"),
        "network_tags": _tags(body, "networkTags"),
        "device_tags": _tags(body, "deviceTags"),
    }
    return clean_labels({k: v for k, v in values.items() if v}, field="labels", lenient=True)


def _tags(body: dict[str, Any], key: str) -> str:
    tags = get_list(body, key, field=key)
    return " ".join(to_text(tag) for tag in tags if tag not in (None, ""))
