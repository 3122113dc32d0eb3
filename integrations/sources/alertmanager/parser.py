"""Prometheus Alertmanager: the ``webhook_config`` receiver's payload (version "4").

One :class:`AlertEvent` per entry of ``alerts``; the group-level fields (``groupLabels``,
``commonLabels``, ``commonAnnotations``, ``receiver``, ``groupKey``) are not needed because each
entry carries its own labels and annotations.

Per entry:

* ``alert_key``: ``fingerprint``; when there is none, :func:`stable_key` of the sorted labels
  (the same label set always gives the same key, just as Alertmanager's fingerprint does).
* ``kind``: the entry's ``status``, ``firing`` or ``resolved`` (required).
* ``title``: the ``summary`` annotation, else the ``alertname`` label, else ``"Alert"``.
* ``description``: the ``description`` annotation, else the ``message`` annotation.
* ``severity``: the ``severity`` label through :func:`map_severity` (unknown or missing ->
  warning); ``raw_severity`` is that label's value, ``""`` when missing.
* ``labels``: the entry's labels, then the remaining annotations, each only if its key is not
  already a label (labels win: they are the alert's identity and what routes match on), does not
  start with ``__``, and fits under ``MAX_LABELS``. Annotations used as the title, the
  description or a link are not copied. Too many labels or an over-long label key is an error;
  over-long values are truncated (Alertmanager cannot be told to send shorter ones).
* ``links``: ``generatorURL`` ("Source"), then the ``runbook_url`` ("Runbook") and
  ``dashboard_url`` ("Dashboard") annotations when they are http(s) URLs.
* ``starts_at``: ``startsAt``. ``ends_at``: ``endsAt``, but only for resolved alerts: on a firing
  alert it is either Go's zero time or the time Alertmanager would consider the alert stale, not
  a time at which it ended.

``truncatedAlerts`` (alerts left out by ``max_alerts``) is for the push view to report:
:func:`truncated_count` reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from integrations.sources.common import (
    at,
    clean_annotations,
    clean_labels,
    first_nonblank,
    get_list,
    get_str,
    map_severity,
    merge_extra_labels,
    optional_link,
    parse_time,
    require_object,
    truncate,
    truncated_alerts,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    Image,
    Link,
    PayloadError,
    stable_key,
)

# Top-level URL fields of an entry, in the order their links are shown.
LINK_FIELDS: Sequence[tuple[str, str]] = (("generatorURL", "Source"),)
# Annotations that become links (when they hold an http(s) URL) instead of labels.
ANNOTATION_LINKS: Sequence[tuple[str, str]] = (
    ("runbook_url", "Runbook"),
    ("dashboard_url", "Dashboard"),
)
_STATUSES = {"firing": EventKind.FIRING, "resolved": EventKind.RESOLVED}


def parse(payload: Any) -> list[AlertEvent]:
    """One event per entry of the webhook's ``alerts`` array (see the module docstring)."""
    body = require_object(payload, None)
    return [
        alert_event(item, field=at("alerts", index), default_title="Alert")
        for index, item in enumerate(alert_entries(body))
    ]


def truncated_count(payload: Any) -> int:
    """How many alerts Alertmanager left out of this batch (``truncatedAlerts``), 0 if none."""
    return truncated_alerts(payload)


def alert_entries(body: dict[str, Any]) -> list[Any]:
    """The non-empty ``alerts`` array of an Alertmanager-style payload."""
    if "alerts" not in body:
        raise PayloadError("alerts is required", field="alerts")
    entries = get_list(body, "alerts", field="alerts")
    if not entries:
        raise PayloadError("alerts is empty: there is no alert to accept", field="alerts")
    return entries


def alert_event(
    item: Any,
    *,
    field: str,
    default_title: str,
    link_fields: Sequence[tuple[str, str]] = LINK_FIELDS,
    details: str = "",
    images: tuple[Image, ...] = (),
) -> AlertEvent:
    """The event for one Alertmanager-style alert entry.

    Grafana's unified alerting sends the same entries with more URL fields: ``link_fields``
    names the entry's URL fields to show as links, ``details`` is appended to the description.
    """
    entry = require_object(item, field)
    kind = _kind(entry, field=field)
    labels = clean_labels(entry.get("labels"), field=at(field, "labels"), lenient=True)
    annotations = clean_annotations(entry.get("annotations"), field=at(field, "annotations"))
    fingerprint = get_str(entry, "fingerprint", field=at(field, "fingerprint")).strip()
    summary = first_nonblank(annotations.get("summary", ""))
    description_key, description = _description(annotations, details)
    links, link_keys = _links(entry, annotations, field=field, link_fields=link_fields)
    ends_at = parse_time(entry.get("endsAt"), field=at(field, "endsAt"))
    raw_severity = labels.get("severity", "")
    used = [key for key in ("summary", description_key) if annotations.get(key)] + link_keys
    return AlertEvent(
        alert_key=fingerprint or stable_key(sorted(labels.items())),
        kind=kind,
        title=truncate(
            summary or labels.get("alertname", "").strip() or default_title, MAX_TITLE_CHARS
        ),
        severity=map_severity(raw_severity),
        raw_severity=raw_severity,
        description=truncate(description, MAX_DESCRIPTION_CHARS),
        labels=merge_extra_labels(labels, annotations, skip=used),
        links=links,
        images=images,
        starts_at=parse_time(entry.get("startsAt"), field=at(field, "startsAt")),
        ends_at=ends_at if kind == EventKind.RESOLVED else None,
    )


def _description(annotations: dict[str, str], details: str) -> tuple[str, str]:
    """The annotation key used for the description (``""`` if none) and the description."""
    key = next(
        (k for k in ("description", "message") if first_nonblank(annotations.get(k, ""))), ""
    )
    text = annotations.get(key, "")
    if details:
        text = f"{text}\n\n{details}" if text else details
    return key, text


def _links(
    entry: dict[str, Any],
    annotations: dict[str, str],
    *,
    field: str,
    link_fields: Sequence[tuple[str, str]],
) -> tuple[tuple[Link, ...], list[str]]:
    """The entry's links and the annotation keys that were turned into links."""
    links: tuple[Link, ...] = ()
    for key, text in link_fields:
        links += optional_link(get_str(entry, key, field=at(field, key)), text)
    link_keys = []
    for key, text in ANNOTATION_LINKS:
        found = optional_link(annotations.get(key), text)
        links += found
        link_keys += [key] if found else []
    return links, link_keys


def _kind(entry: dict[str, Any], *, field: str) -> EventKind:
    where = at(field, "status")
    status = get_str(entry, "status", field=where, required=True)
    try:
        return _STATUSES[status.strip().lower()]
    except KeyError:
        raise PayloadError(
            f"{where} must be 'firing' or 'resolved', not {truncate(status, 40)!r}", field=where
        ) from None
