"""Keep's alerts, as a Keep workflow posts them through its ``webhook`` provider.

Keep's own Flashduty provider only posts to Flashduty's host, so a workflow reaches the console
through the ``webhook`` provider with the body of :data:`WORKFLOW_SNIPPET`: the alert's fields
under Keep's own names (``fingerprint``, ``name``, ``status``, ``severity``, ``description``,
``environment``, ``service``, ``url``, ``lastReceived``), each rendered as text.

* ``alert_key``: ``fingerprint`` (Keep's identity of an alert, the same when it resolves).
  Required.
* ``kind``: ``status`` ``resolved`` resolves; ``firing``, ``acknowledged`` and ``pending`` fire;
  ``suppressed`` gives no event (Keep hides the alert); anything else is a ``PayloadError``.
* ``severity``: Keep's severity: critical and high critical, warning warning, info and low info;
  anything else warning.
* ``title``: ``name``, else "Keep alert". ``description``: ``description``, else ``message``.
* ``labels``: ``labels`` (when an object), then ``environment``, ``service`` and ``source`` in
  free slots; Keep's placeholder values (``undefined``, ``None``, ``[]``) are left out.
* ``links``: ``url``. ``starts_at``: ``lastReceived`` of a firing alert, ``ends_at`` of a
  resolved one.

A body with ``event_status`` is the knowledge base's field set (title, event_status, alert_key,
description, labels): the console's standard protocol, read by
:mod:`integrations.sources.standard.parser`.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    first_nonblank,
    get_str,
    merge_extra_labels,
    optional_link,
    parse_time,
    require_object,
    severity_from_table,
    to_text,
    truncate,
)
from integrations.sources.standard import parser as standard
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
)

SEVERITY_TABLE = (
    ("critical", Severity.CRITICAL),
    ("high", Severity.CRITICAL),
    ("warning", Severity.WARNING),
    ("info", Severity.INFO),
    ("low", Severity.INFO),
)
_KINDS = {
    "firing": EventKind.FIRING,
    "acknowledged": EventKind.FIRING,
    "pending": EventKind.FIRING,
    "resolved": EventKind.RESOLVED,
    "suppressed": None,
}
_PLACEHOLDERS = {"", "undefined", "none", "null", "[]"}
WORKFLOW_SNIPPET = """\
workflow:
  id: page-the-on-call-console
  name: Page the on-call console
  triggers:
    - type: alert
  actions:
    - name: on-call-console
      provider:
        type: webhook
        config: "{{ providers.on-call-console }}"
        with:
          body:
            fingerprint: "{{ alert.fingerprint }}"
            name: "{{ alert.name }}"
            status: "{{ alert.status }}"
            severity: "{{ alert.severity }}"
            description: "{{ alert.description }}"
            environment: "{{ alert.environment }}"
            service: "{{ alert.service }}"
            url: "{{ alert.url }}"
            lastReceived: "{{ alert.lastReceived }}"
"""


def parse(payload: Any) -> list[AlertEvent]:
    """The events of one workflow post (see the module docstring)."""
    body = require_object(payload, None)
    if "event_status" in body:
        return standard.parse(body)
    fingerprint = get_str(body, "fingerprint", field="fingerprint", required=True).strip()
    kind = _kind(body)
    if kind is None:
        return []
    severity = _clean(get_str(body, "severity", field="severity"))
    title = get_str(body, "name", field="name").strip() or "Keep alert"
    received = parse_time(
        _clean(get_str(body, "lastReceived", field="lastReceived")) or None, field="lastReceived"
    )
    firing = kind == EventKind.FIRING
    return [
        AlertEvent(
            alert_key=fingerprint,
            kind=kind,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=severity_from_table(severity, SEVERITY_TABLE),
            raw_severity=severity,
            description=truncate(
                first_nonblank(
                    _clean(get_str(body, "description", field="description")),
                    _clean(get_str(body, "message", field="message")),
                ),
                MAX_DESCRIPTION_CHARS,
            ),
            labels=_labels(body),
            links=optional_link(body.get("url"), "Keep"),
            starts_at=received if firing else None,
            ends_at=None if firing else received,
        )
    ]


def recognises(payload: Any) -> bool:
    """The workflow's body: Keep's ``fingerprint`` and ``lastReceived``."""
    return isinstance(payload, dict) and {"fingerprint", "lastReceived"} <= payload.keys()


def is_connection_test(payload: Any) -> bool:
    """Keep's webhook provider posts ``{"test": "payload"}`` when it is installed."""
    return payload == {"test": "payload"}


def _clean(text: str) -> str:
    # Keep renders a missing field as "None" or "undefined".
    return "" if text.strip().lower() in _PLACEHOLDERS else text.strip()


def _kind(body: dict[str, Any]) -> EventKind | None:
    status = get_str(body, "status", field="status", required=True).strip()
    try:
        return _KINDS[status.lower()]
    except KeyError:
        raise PayloadError(
            f"status must be one of {', '.join(_KINDS)}, not {truncate(status, 40)!r}",
            field="status",
        ) from None


def _labels(body: dict[str, Any]) -> dict[str, str]:
    raw = body.get("labels")
    labels = clean_labels(raw, field="labels", lenient=True) if isinstance(raw, dict) else {}
    extra = {
        key: text
        for key in ("environment", "service", "source")
        if (text := _clean(to_text(body[key]) if key in body and body[key] is not None else ""))
    }
    return merge_extra_labels(labels, extra)
