"""Builders for push payloads shaped like the real senders' (for ingestion tests)."""

from __future__ import annotations

from typing import Any


def am_alert(
    name: str = "HighLatency",
    *,
    status: str = "firing",
    severity: str | None = "critical",
    fingerprint: str | None = None,
    **labels: str,
) -> dict[str, Any]:
    all_labels = {"alertname": name, "instance": "db-1:9100", **labels}
    if severity is not None:
        all_labels["severity"] = severity
    return {
        "status": status,
        "labels": all_labels,
        "annotations": {
            "summary": f"{name} on {all_labels['instance']}",
            "description": "p99 above 2s for 5 minutes",
        },
        "startsAt": "2026-11-21T10:00:00Z",
        "endsAt": "2026-11-21T10:30:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
        "fingerprint": fingerprint or f"fp-{name}-{all_labels['instance']}",
    }


def alertmanager(*alerts: dict[str, Any], truncated: int = 0) -> dict[str, Any]:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "truncatedAlerts": truncated,
        "status": status,
        "receiver": "oncall",
        "groupLabels": {"alertname": alerts[0]["labels"]["alertname"]} if alerts else {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "alerts": list(alerts),
    }


def standard(title: str = "CPU high on web-1", status: str = "Critical", **extra: Any) -> dict:
    return {"title_rule": title, "event_status": status, **extra}


def pagerduty(action: str = "trigger", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": "x" * 32, "event_action": action}
    if action == "trigger":
        event["payload"] = {
            "summary": "Disk full on db-1",
            "source": "db-1",
            "severity": "critical",
        }
    event.update(extra)
    return event
