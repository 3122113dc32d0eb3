"""Dynatrace problem notifications sent by a *Custom Integration* with the payload template that
the source's setup guide ships (:data:`PAYLOAD_TEMPLATE`, the knowledge base's field names).

Dynatrace fills each ``{Placeholder}`` with text, so every value arrives as a string:

* ``alert_key``: ``dynatrace:<PID>`` (the problem's internal id: every update and the closing
  notification of one problem carry the same PID). ``PID`` is required.
* ``kind``: ``State`` ``OPEN`` fires; ``RESOLVED`` and ``CLOSED`` resolve; ``MERGED`` (the
  problem was folded into another one, which goes on notifying) resolves too. Any other state is
  a ``PayloadError``.
* ``severity``: ``ProblemSeverity`` through :data:`SEVERITY_TABLE` (AVAILABILITY critical, ERROR
  warning, PERFORMANCE / RESOURCE_CONTENTION / CUSTOM_ALERT info); others are warning.
* ``title``: ``ProblemTitle``; ``description``: ``ProblemDetails`` (``{ProblemDetailsText}``).
* ``labels``: ``problem_id`` (``ProblemID``, the display id such as ``P-2404112``),
  ``impact`` (``ProblemImpact``), ``impacted_entities`` (``ImpactedEntityNames``), and one label
  per ``Tags`` entry (``key:value`` or a bare ``key``, comma separated).
* ``links``: ``ProblemURL`` ("Problem").
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    bounded_alert_key,
    clean_labels,
    get_str,
    merge_extra_labels,
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

# The knowledge base's table: Dynatrace's problem severity -> the console's.
SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("AVAILABILITY", Severity.CRITICAL),
    ("ERROR", Severity.WARNING),
    ("PERFORMANCE", Severity.INFO),
    ("RESOURCE_CONTENTION", Severity.INFO),
    ("CUSTOM_ALERT", Severity.INFO),
)
_SEVERITIES = dict(SEVERITY_TABLE)
_STATES = {
    "OPEN": EventKind.FIRING,
    "RESOLVED": EventKind.RESOLVED,
    "CLOSED": EventKind.RESOLVED,
    "MERGED": EventKind.RESOLVED,
}

# What the user pastes into Dynatrace's "Custom payload" field.
PAYLOAD_TEMPLATE = """{
  "State": "{State}",
  "PID": "{PID}",
  "ProblemID": "{ProblemID}",
  "ProblemTitle": "{ProblemTitle}",
  "ProblemImpact": "{ProblemImpact}",
  "ProblemDetails": "{ProblemDetailsText}",
  "ProblemURL": "{ProblemURL}",
  "ProblemSeverity": "{ProblemSeverity}",
  "ImpactedEntityNames": "{ImpactedEntityNames}",
  "Tags": "{Tags}"
}"""


def recognises(payload: Any) -> bool:
    return isinstance(payload, dict) and "PID" in payload and "ProblemTitle" in payload


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    pid = get_str(body, "PID", field="PID", required=True).strip()
    raw_state = get_str(body, "State", field="State", required=True).strip()
    state = raw_state.upper()
    if state not in _STATES:
        raise PayloadError(
            f"State must be one of {', '.join(_STATES)}, not {truncate(raw_state, 40)!r}",
            field="State",
        )
    raw_severity = get_str(body, "ProblemSeverity", field="ProblemSeverity").strip()
    title = get_str(body, "ProblemTitle", field="ProblemTitle").strip() or "Dynatrace problem"
    return [
        AlertEvent(
            alert_key=bounded_alert_key(f"dynatrace:{pid}"),
            kind=_STATES[state],
            title=truncate(title, MAX_TITLE_CHARS),
            severity=_SEVERITIES.get(raw_severity.upper(), Severity.WARNING),
            raw_severity=raw_severity,
            description=truncate(
                get_str(body, "ProblemDetails", field="ProblemDetails").strip(),
                MAX_DESCRIPTION_CHARS,
            ),
            labels=_labels(body),
            links=optional_link(get_str(body, "ProblemURL", field="ProblemURL"), "Problem"),
        )
    ]


def _labels(body: dict[str, Any]) -> dict[str, str]:
    fields = {
        "problem_id": get_str(body, "ProblemID", field="ProblemID").strip(),
        "impact": get_str(body, "ProblemImpact", field="ProblemImpact").strip(),
        "impacted_entities": get_str(
            body, "ImpactedEntityNames", field="ImpactedEntityNames"
        ).strip(),
    }
    labels = clean_labels({k: v for k, v in fields.items() if v}, field="labels", lenient=True)
    return merge_extra_labels(labels, _tags(get_str(body, "Tags", field="Tags")))


def _tags(text: str) -> dict[str, str]:
    # Dynatrace renders {Tags} as "key:value, bare, key2:value2".
    tags = {}
    for entry in text.split(","):
        key, _, value = entry.strip().partition(":")
        if key.strip():
            tags[key.strip()] = value.strip()
    return tags
