"""PagerDuty Events API v2 alert events: one alert event per request.

Any tool that can send to PagerDuty's ``/v2/enqueue`` can send here; PagerDuty's answers and
its URL shape are in :mod:`integrations.sources.pagerduty.source`.

* ``routing_key`` (required, non-empty; PagerDuty's are 32 characters, any length is accepted
  here; it is a secret and goes nowhere).
* ``event_action`` (required): ``trigger`` fires, ``acknowledge`` acknowledges, ``resolve``
  resolves.
* ``dedup_key``: the ``alert_key`` (at most 255 characters). Required to acknowledge or
  resolve; a trigger without one gets a random one (a uuid4 hex, as PagerDuty does), returned
  in the response.
* ``payload`` (required to trigger; ignored otherwise, as PagerDuty does):

  - ``summary`` (required, at most 1024 characters): the title, cut to ``MAX_TITLE_CHARS``; when
    it had to be cut, the whole summary is the description.
  - ``source`` (required), ``severity`` (required: ``critical``, ``error``, ``warning`` or
    ``info``; ``error`` maps to critical), ``timestamp`` (ISO 8601: ``starts_at``),
    ``component``, ``group``, ``class``.
  - ``custom_details`` (any JSON): each top-level entry becomes a label, strings as they are,
    anything else as compact JSON; a details value that is not an object becomes the single
    label ``custom_details``.

* ``labels``: ``custom_details``' entries, then ``source``, ``component``, ``group`` and
  ``class`` (which win over details of the same name). At most 50 labels and keys of at most 128
  characters, else a ``PayloadError``; values are cut to 2048 characters (tools that speak this
  API put whole reports in their details).
* ``links``: ``links``, then ``client_url`` (its text is ``client``); ``images``: ``images``.
* An acknowledge or resolve has no payload: its title is the ``dedup_key`` and its severity
  info, so that it can never make an incident look more urgent.
"""

from __future__ import annotations

import uuid
from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_str,
    is_web_url,
    map_severity,
    parse_images,
    parse_links,
    parse_time,
    require_object,
    to_text,
    truncate,
)
from oncall.events import (
    MAX_LABELS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    Link,
    PayloadError,
    Severity,
)

MAX_DEDUP_KEY_CHARS = 255
MAX_SUMMARY_CHARS = 1024
SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = {
    "trigger": EventKind.FIRING,
    "acknowledge": EventKind.ACKNOWLEDGED,
    "resolve": EventKind.RESOLVED,
}
PAYLOAD_LABELS = ("source", "component", "group", "class")


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of an Events API v2 request (see the module docstring)."""
    body = require_object(payload, None)
    get_str(body, "routing_key", field="routing_key", required=True)
    kind = _kind(body)
    dedup_key = get_str(body, "dedup_key", field="dedup_key", max_chars=MAX_DEDUP_KEY_CHARS)
    dedup_key = dedup_key.strip()
    if not dedup_key:
        if kind != EventKind.FIRING:
            raise PayloadError(
                f"dedup_key is required to {body['event_action'].strip().lower()} an alert",
                field="dedup_key",
            )
        dedup_key = uuid.uuid4().hex
    if kind != EventKind.FIRING:
        return [AlertEvent(alert_key=dedup_key, kind=kind, title=dedup_key, severity=Severity.INFO)]
    return [_trigger(body, dedup_key)]


def _kind(body: dict[str, Any]) -> EventKind:
    action = get_str(body, "event_action", field="event_action", required=True)
    try:
        return ACTIONS[action.strip().lower()]
    except KeyError:
        raise PayloadError(
            f"event_action must be one of trigger, acknowledge or resolve, "
            f"not {truncate(action, 40)!r}",
            field="event_action",
        ) from None


def _trigger(body: dict[str, Any], dedup_key: str) -> AlertEvent:
    if body.get("payload") is None:
        raise PayloadError("payload is required to trigger an alert", field="payload")
    details = require_object(body["payload"], "payload")
    summary = get_str(
        details, "summary", field="payload.summary", required=True, max_chars=MAX_SUMMARY_CHARS
    )
    severity = get_str(details, "severity", field="payload.severity", required=True).strip()
    if severity.lower() not in SEVERITIES:
        raise PayloadError(
            "payload.severity must be one of critical, error, warning or info, "
            f"not {truncate(severity, 40)!r}",
            field="payload.severity",
        )
    title = truncate(summary, MAX_TITLE_CHARS)
    return AlertEvent(
        alert_key=dedup_key,
        kind=EventKind.FIRING,
        title=title,
        severity=map_severity(severity),
        raw_severity=severity,
        description=summary if title != summary else "",
        labels=_labels(details),
        links=parse_links(body.get("links"), field="links") + _client_link(body),
        images=parse_images(body.get("images"), field="images"),
        starts_at=parse_time(details.get("timestamp"), field="payload.timestamp"),
    )


def _labels(details: dict[str, Any]) -> dict[str, str]:
    custom = details.get("custom_details")
    if custom is None:
        labels = {}
    elif isinstance(custom, dict):
        labels = {key: to_text(value) for key, value in custom.items()}
    else:
        labels = {"custom_details": to_text(custom)}
    for key in PAYLOAD_LABELS:
        value = get_str(details, key, field=f"payload.{key}", required=key == "source")
        if value:
            labels[key] = value
    if len(labels) > MAX_LABELS:
        raise PayloadError(
            f"payload.custom_details with source, component, group and class make {len(labels)} "
            f"labels; at most {MAX_LABELS} are allowed",
            field="payload.custom_details",
        )
    return clean_labels(labels, field="payload.custom_details", lenient=True)


def _client_link(body: dict[str, Any]) -> tuple[Link, ...]:
    client_url = get_str(body, "client_url", field="client_url").strip()
    if not client_url:
        return ()
    if not is_web_url(client_url):
        raise PayloadError(
            f"client_url must be an http(s) URL, not {truncate(client_url, 64)!r}",
            field="client_url",
        )
    client = get_str(body, "client", field="client").strip()
    return (Link(href=client_url, text=client or client_url),)
