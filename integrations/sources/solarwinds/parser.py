"""SolarWinds Platform (Orion) alerts sent by the *Send a GET or POST Request to a Web Server*
action, with the bodies the source's setup guide ships: :data:`TRIGGER_TEMPLATE` as a trigger
action and :data:`RESET_TEMPLATE` as a reset action of the same alert. Orion substitutes each
``${N=...;M=...}`` variable with text, so every value arrives as a string.

* ``alert_key``: ``solarwinds:<AlertID>:<ObjectID>`` -- one alert definition fires once per
  object it watches (a node, an interface, a volume), each its own alert. ``AlertID`` is
  required; without ``ObjectID`` the ``ObjectName`` stands in.
* ``kind``: ``Status`` ``triggered`` fires, ``reset`` resolves (the two templates differ only
  there); any other value is a ``PayloadError``.
* ``severity``: ``Severity`` (the alert definition's "Severity of alert") through
  :data:`SEVERITY_TABLE` (the knowledge base's Critical / Warning / Info) plus Orion's own
  words Serious (critical), Notice and Informational (info); others are warning.
* ``title``: ``AlertName`` on ``ObjectName``; ``description``: ``AlertMessage``, then
  ``AlertDescription``.
* ``labels``: ``object_name``, ``object_type``, ``alert_id``, ``trigger_time``.
* ``links``: ``AlertDetailsURL`` ("Alert details").
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    bounded_alert_key,
    clean_labels,
    get_str,
    optional_link,
    require_object,
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
    ("Critical", Severity.CRITICAL),
    ("Warning", Severity.WARNING),
    ("Info", Severity.INFO),
)
_SEVERITIES = {
    **{word.lower(): severity for word, severity in SEVERITY_TABLE},
    "serious": Severity.CRITICAL,
    "notice": Severity.INFO,
    "informational": Severity.INFO,
}
_STATUSES = {"triggered": EventKind.FIRING, "reset": EventKind.RESOLVED}
_LABEL_FIELDS = (
    ("object_name", "ObjectName"),
    ("object_type", "ObjectType"),
    ("alert_id", "AlertID"),
    ("trigger_time", "TriggerTime"),
)

_TEMPLATE = """{
  "Status": "%s",
  "AlertID": "${N=Alerting;M=AlertID}",
  "ObjectID": "${N=Alerting;M=AlertObjectID}",
  "AlertName": "${N=Alerting;M=AlertName}",
  "AlertMessage": "${N=Alerting;M=AlertMessage}",
  "AlertDescription": "${N=Alerting;M=AlertDescription}",
  "Severity": "${N=Alerting;M=Severity}",
  "ObjectName": "${N=SwisEntity;M=Caption}",
  "ObjectType": "${N=Alerting;M=ObjectType}",
  "TriggerTime": "${N=Alerting;M=AlertTriggerTime}",
  "AlertDetailsURL": "${N=Alerting;M=AlertDetailsURL}"
}"""
TRIGGER_TEMPLATE = _TEMPLATE % "triggered"
RESET_TEMPLATE = _TEMPLATE % "reset"


def recognises(payload: Any) -> bool:
    return isinstance(payload, dict) and "AlertID" in payload and "AlertName" in payload


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    raw_status = get_str(body, "Status", field="Status", required=True).strip()
    if raw_status.lower() not in _STATUSES:
        raise PayloadError(
            f"Status must be 'triggered' or 'reset', not {truncate(raw_status, 40)!r}",
            field="Status",
        )
    raw_severity = _text(body, "Severity")
    return [
        AlertEvent(
            alert_key=bounded_alert_key(_key(body)),
            kind=_STATUSES[raw_status.lower()],
            title=truncate(_title(body), MAX_TITLE_CHARS),
            severity=_SEVERITIES.get(raw_severity.lower(), Severity.WARNING),
            raw_severity=raw_severity,
            description=truncate(
                "\n\n".join(
                    text
                    for text in (_text(body, "AlertMessage"), _text(body, "AlertDescription"))
                    if text
                ),
                MAX_DESCRIPTION_CHARS,
            ),
            labels=clean_labels(
                {label: value for label, key in _LABEL_FIELDS if (value := _text(body, key))},
                field="labels",
                lenient=True,
            ),
            links=optional_link(_text(body, "AlertDetailsURL"), "Alert details"),
        )
    ]


def _text(body: dict[str, Any], key: str) -> str:
    return get_str(body, key, field=key).strip()


def _key(body: dict[str, Any]) -> str:
    alert_id = get_str(body, "AlertID", field="AlertID", required=True).strip()
    scope = _text(body, "ObjectID") or _text(body, "ObjectName")
    return f"solarwinds:{alert_id}:{scope}"


def _title(body: dict[str, Any]) -> str:
    name = _text(body, "AlertName") or "SolarWinds alert"
    target = _text(body, "ObjectName")
    return f"{name} on {target}" if target else name
