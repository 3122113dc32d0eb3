"""Alibaba Cloud ARMS alert notifications sent through a webhook whose body is
``$alertmanager_content``: ARMS then posts open-source Alertmanager's webhook shape, with its
own ``_aliyun_arms_*`` labels and annotations added.

Each ``alerts`` entry is read as :mod:`integrations.sources.alertmanager.parser` reads it
(status ``firing`` / ``resolved``, key = ``fingerprint``, title = ``summary`` annotation or
``alertname`` label, description = ``description`` / ``message`` annotation, labels and the
remaining annotations as labels, ``startsAt`` / ``endsAt``, ``generatorURL`` as a link), except:

* severity: the ``_aliyun_arms_alert_level`` label through the knowledge base's table
  (``P1`` critical, ``P2`` and ``P3`` warning, ``P4`` info); older ARMS versions put a word
  there (``ERROR``, ``WARN``) or only a ``severity`` label, read as common words;
* the default title is "ARMS alert";
* the top-level ``externalURL`` (the alert's page in the ARMS console) is a link ("ARMS");
* ``_aliyun_arms_alert_now_value`` (the value when the notification was made) goes at the end
  of the description as a ``Value: ...`` line; the other value annotations change on every
  evaluation and are left out of the labels, which routes match on.

An empty ``alerts`` array is a ``PayloadError``, as for Alertmanager.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from integrations.sources.alertmanager.parser import alert_entries, alert_event
from integrations.sources.common import (
    at,
    clean_annotations,
    map_severity,
    optional_link,
    require_object,
    severity_from_table,
)
from oncall.events import AlertEvent, Link, Severity

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("P1", Severity.CRITICAL),
    ("P2", Severity.WARNING),
    ("P3", Severity.WARNING),
    ("P4", Severity.INFO),
)
LEVEL_LABEL = "_aliyun_arms_alert_level"
# Values that change with every evaluation: never labels.
_VOLATILE_ANNOTATIONS = (
    "_aliyun_arms_alert_value",
    "_aliyun_arms_alert_now_value",
    "_aliyun_arms_alert_past_value",
    "value",
)


def parse(payload: Any) -> list[AlertEvent]:
    """One event per ``alerts`` entry (see the module docstring)."""
    body = require_object(payload, None)
    console = optional_link(body.get("externalURL"), "ARMS")
    return [
        _event(item, field=at("alerts", index), console=console)
        for index, item in enumerate(alert_entries(body))
    ]


def recognises(payload: Any) -> bool:
    """An Alertmanager-shaped body whose first alert carries ARMS's own labels."""
    try:
        labels = payload["alerts"][0]["labels"]
        return any(str(key).startswith("_aliyun_arms_") for key in labels)
    except (KeyError, IndexError, TypeError):
        return False


def _event(item: Any, *, field: str, console: tuple[Link, ...]) -> AlertEvent:
    entry = require_object(item, field)
    annotations = clean_annotations(entry.get("annotations"), field=at(field, "annotations"))
    now_value = annotations.get("_aliyun_arms_alert_now_value", "").strip()
    stable = dict(entry)
    stable["annotations"] = {
        key: value for key, value in annotations.items() if key not in _VOLATILE_ANNOTATIONS
    }
    event = alert_event(
        stable,
        field=field,
        default_title="ARMS alert",
        details=f"Value: {now_value}" if now_value else "",
    )
    raw = event.labels.get(LEVEL_LABEL, "").strip() or event.raw_severity
    return dataclasses.replace(
        event,
        raw_severity=raw,
        severity=severity_from_table(raw, SEVERITY_TABLE, default=map_severity(raw)),
        links=event.links + console,
    )
