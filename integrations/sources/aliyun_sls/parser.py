"""Alibaba Cloud Simple Log Service (SLS) alerts, sent by a generic webhook whose content
template is ``{{ alert | to_json }}`` with "send individually": one alert object per request,
with the variables of SLS's new alert templates.

Field mapping
    * kind: ``status`` ``firing`` fires, ``resolved`` resolves; anything else is a
      ``PayloadError``.
    * alert_key: ``fingerprint`` (SLS's hash of the rule and the alert's labels, the same when
      the alert resolves); without one, :func:`stable_key` of ``project``, ``alert_id`` and
      ``labels``.
    * severity: ``severity`` (a number, 2 to 10) through the knowledge base's table: 10 and 8
      critical, 6 and 4 warning, 2 info; anything else, warning.
    * title: the ``title`` annotation, else ``alert_name``, else ``alert_id``.
    * description: the ``desc`` annotation.
    * labels: ``labels`` (values rendered as text), then ``project``, ``region``,
      ``alert_id`` and the other annotations in free slots.
    * links: ``alert_url`` ("Alert") and the first result's ``query_url`` ("Query") when they
      are http(s) URLs.
    * time: ``fire_time`` (Unix seconds) starts it, ``resolve_time`` ends a resolved one.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_annotations,
    clean_labels,
    first_nonblank,
    get_list,
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
    Link,
    PayloadError,
    Severity,
    stable_key,
)

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("10", Severity.CRITICAL),
    ("8", Severity.CRITICAL),
    ("6", Severity.WARNING),
    ("4", Severity.WARNING),
    ("2", Severity.INFO),
)
_STATUSES = {"firing": EventKind.FIRING, "resolved": EventKind.RESOLVED}


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of an SLS alert (see the module docstring)."""
    body = require_object(payload, None)
    kind = _kind(body)
    labels = clean_labels(body.get("labels"), field="labels", lenient=True)
    annotations = clean_annotations(body.get("annotations"), field="annotations")
    alert_id = get_str(body, "alert_id", field="alert_id").strip()
    project = get_str(body, "project", field="project").strip()
    fingerprint = to_text(body["fingerprint"]).strip() if body.get("fingerprint") else ""
    if not (fingerprint or alert_id):
        raise PayloadError("alert_id is required when there is no fingerprint", field="alert_id")
    raw_severity = "" if body.get("severity") is None else to_text(body["severity"]).strip()
    return [
        AlertEvent(
            alert_key=fingerprint or stable_key("aliyun_sls", project, alert_id, labels),
            kind=kind,
            title=truncate(_title(body, annotations, alert_id), MAX_TITLE_CHARS),
            severity=severity_from_table(raw_severity, SEVERITY_TABLE),
            raw_severity=raw_severity,
            description=truncate(annotations.get("desc", "").strip(), MAX_DESCRIPTION_CHARS),
            labels=_labels(body, labels, annotations, project=project, alert_id=alert_id),
            links=_links(body),
            starts_at=parse_epoch_time(body.get("fire_time"), field="fire_time"),
            ends_at=(
                parse_epoch_time(body.get("resolve_time"), field="resolve_time")
                if kind == EventKind.RESOLVED
                else None
            ),
        )
    ]


def recognises(payload: Any) -> bool:
    """SLS's alert variables: an ``alert_id`` with ``alert_instance_id`` or ``aliuid``."""
    return (
        isinstance(payload, dict)
        and "alert_id" in payload
        and ("alert_instance_id" in payload or "aliuid" in payload)
    )


def _kind(body: dict[str, Any]) -> EventKind:
    status = get_str(body, "status", field="status", required=True)
    try:
        return _STATUSES[status.strip().lower()]
    except KeyError:
        raise PayloadError(
            f"status must be 'firing' or 'resolved', not {truncate(status, 40)!r}",
            field="status",
        ) from None


def _title(body: dict[str, Any], annotations: dict[str, str], alert_id: str) -> str:
    name = get_str(body, "alert_name", field="alert_name")
    return first_nonblank(annotations.get("title", ""), name, alert_id).strip()


def _labels(
    body: dict[str, Any],
    labels: dict[str, str],
    annotations: dict[str, str],
    *,
    project: str,
    alert_id: str,
) -> dict[str, str]:
    region = get_str(body, "region", field="region").strip()
    extra = {"project": project, "region": region, "alert_id": alert_id}
    merged = merge_extra_labels(labels, {key: value for key, value in extra.items() if value})
    return merge_extra_labels(merged, annotations, skip=("title", "desc"))


def _links(body: dict[str, Any]) -> tuple[Link, ...]:
    links = optional_link(body.get("alert_url"), "Alert")
    results = get_list(body, "results", field="results")
    if results and isinstance(results[0], dict):
        links += optional_link(results[0].get("query_url"), "Query")
    return links
