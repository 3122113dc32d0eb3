"""OceanBase Cloud Platform (OCP) alarms, posted by the script the set-up guide gives
(``SCRIPT`` in ``source.py``), which OCP runs as a "custom script" alarm channel with the
alarm's variables in its environment and which posts them as one JSON object.

One post is one event:

* ``alert_key``: ``oceanbase:<alarm_id>`` (OCP's alarm, the same while it is active and when
  it clears).
* ``kind``: ``alarm_status`` ``Active`` fires, ``Inactive`` resolves (case-insensitive); the
  script sends nothing else, and anything else is a ``PayloadError``.
* ``severity`` (the knowledge base's table): ``alarm_level`` ``Down`` and ``Critical``
  critical; ``Alert`` / ``Warning`` warning; ``Caution``, ``Info`` / ``Notice`` info; an
  unknown level is a warning.
* ``title``: ``alarm_name`` on ``alarm_target``, else "OceanBase alarm".
* ``description``: ``alarm_summary``, then ``alarm_description``.
* ``labels``: ``app_type``, ``alarm_type``, ``alarm_target``, ``alarm_threshold``,
  ``ob_cluster_group``, ``ob_cluster``, ``host_ip``, ``app_cluster``, ``service``.
* ``links``: ``alarm_url`` ("OCP").
* ``starts_at`` / ``ends_at``: ``active_at`` / ``resolved_at``, Unix seconds the script
  computes from OCP's times (0 when unset).
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    first_nonblank,
    get_str,
    optional_link,
    parse_epoch_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
)

LEVELS = {
    "down": Severity.CRITICAL,
    "critical": Severity.CRITICAL,
    "alert": Severity.WARNING,
    "warning": Severity.WARNING,
    "caution": Severity.INFO,
    "info": Severity.INFO,
    "notice": Severity.INFO,
}
STATUSES = {"active": EventKind.FIRING, "inactive": EventKind.RESOLVED}
LABEL_FIELDS = (
    "app_type",
    "alarm_type",
    "alarm_target",
    "alarm_threshold",
    "ob_cluster_group",
    "ob_cluster",
    "host_ip",
    "app_cluster",
    "service",
)


def recognises(payload: Any) -> bool:
    """The script's body: an OCP alarm id and status beside the OceanBase cluster."""
    return isinstance(payload, dict) and {"alarm_id", "alarm_status", "ob_cluster"} <= (
        payload.keys()
    )


def parse(payload: Any) -> list[AlertEvent]:
    """The event of one OCP alarm post (see the module docstring)."""
    body = require_object(payload, None)
    alarm_id = get_str(body, "alarm_id", field="alarm_id", required=True).strip()
    level = get_str(body, "alarm_level", field="alarm_level").strip()
    return [
        AlertEvent(
            alert_key=f"oceanbase:{alarm_id}",
            kind=_kind(body),
            title=truncate(_title(body), MAX_TITLE_CHARS),
            severity=severity_from_table(level, LEVELS),
            raw_severity=level,
            description=truncate(
                "\n".join(
                    text
                    for key in ("alarm_summary", "alarm_description")
                    if (text := get_str(body, key, field=key).strip())
                ),
                MAX_DESCRIPTION_CHARS,
            ),
            labels={
                key: truncate(to_text(body[key]), MAX_LABEL_VALUE_CHARS)
                for key in LABEL_FIELDS
                if body.get(key) not in (None, "")
            },
            links=optional_link(body.get("alarm_url"), "OCP"),
            starts_at=parse_epoch_time(body.get("active_at"), field="active_at"),
            ends_at=parse_epoch_time(body.get("resolved_at"), field="resolved_at"),
        )
    ]


def _kind(body: dict[str, Any]) -> EventKind:
    status = get_str(body, "alarm_status", field="alarm_status", required=True)
    try:
        return STATUSES[status.strip().lower()]
    except KeyError:
        raise PayloadError(
            f"alarm_status must be Active or Inactive, not {truncate(status, 40)!r}",
            field="alarm_status",
        ) from None


def _title(body: dict[str, Any]) -> str:
    name = get_str(body, "alarm_name", field="alarm_name").strip()
    target = get_str(body, "alarm_target", field="alarm_target").strip()
    if name and target:
        return f"{name} on {target}"
    return first_nonblank(name, target, "OceanBase alarm")
