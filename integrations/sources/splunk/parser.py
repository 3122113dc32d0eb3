"""Splunk's webhook alert action (Splunk Enterprise and Splunk Cloud Platform). Splunk's body
is fixed: ``sid``, ``results_link``, ``search_name`` (null for an ad-hoc search), ``owner``,
``app`` and ``result``, the first row of the triggering search's results (field -> value).

* ``alert_key``: ``splunk:<app>:<search_name>`` -- every run of one saved search that fires
  merges into the open alert; for a search without a name, the run's ``sid`` (one alert each).
  One of the two is required.
* ``kind``: Splunk sends nothing when a search stops matching, so every push fires (the
  knowledge base: no recovery events). A search that wants to resolve its alert can compute an
  ``oncall_status`` result field (``| eval oncall_status="resolved"``): ``resolved``, ``ok`` and
  ``recovered`` resolve.
* ``severity``: warning, as the knowledge base says; a search may compute a ``severity`` result
  field, read by :data:`SEVERITY_TABLE` (other words: warning).
* ``title``: ``search_name``, else "Splunk alert"; ``description``: the result row, one
  ``field = value`` line each (Splunk's internal ``_``-prefixed fields left out, ``_raw`` kept
  as the last line).
* ``labels``: ``app``, ``owner``, ``sid``, then the result's non-internal fields that fit.
* ``links``: ``results_link`` ("Search results").
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    bounded_alert_key,
    clean_labels,
    get_str,
    merge_extra_labels,
    optional_link,
    optional_object,
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

# Values of a ``severity`` result field the search may compute; without one, warning.
SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("critical", Severity.CRITICAL),
    ("warning", Severity.WARNING),
    ("info", Severity.INFO),
)
_SEVERITIES = dict(SEVERITY_TABLE)
_RESOLVING = {"resolved", "ok", "recovered"}


def recognises(payload: Any) -> bool:
    return isinstance(payload, dict) and "sid" in payload and "results_link" in payload


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    result = {
        key: to_text(value)
        for key, value in optional_object(body, "result", field="result").items()
    }
    search_name = get_str(body, "search_name", field="search_name").strip()
    raw_severity = result.get("severity", "").strip()
    status = result.get("oncall_status", "").strip().lower()
    return [
        AlertEvent(
            alert_key=bounded_alert_key(_key(body, search_name)),
            kind=EventKind.RESOLVED if status in _RESOLVING else EventKind.FIRING,
            title=truncate(search_name or "Splunk alert", MAX_TITLE_CHARS),
            severity=_SEVERITIES.get(raw_severity.lower(), Severity.WARNING),
            raw_severity=raw_severity,
            description=truncate(_description(result), MAX_DESCRIPTION_CHARS),
            labels=_labels(body, result),
            links=optional_link(
                get_str(body, "results_link", field="results_link"), "Search results"
            ),
        )
    ]


def _key(body: dict[str, Any], search_name: str) -> str:
    if search_name:
        app = get_str(body, "app", field="app").strip()
        return f"splunk:{app}:{search_name}"
    sid = get_str(body, "sid", field="sid").strip()
    if not sid:
        raise PayloadError("search_name or sid is required to identify the alert", field="sid")
    return f"splunk:sid:{sid}"


def _description(result: dict[str, str]) -> str:
    lines = [f"{key} = {value}" for key, value in result.items() if not key.startswith("_")]
    if result.get("_raw"):
        lines.append(result["_raw"])
    return "\n".join(lines)


def _labels(body: dict[str, Any], result: dict[str, str]) -> dict[str, str]:
    own = {key: get_str(body, key, field=key).strip() for key in ("app", "owner", "sid")}
    labels = clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True)
    visible = {k: v for k, v in result.items() if not k.startswith("_") and k != "oncall_status"}
    return merge_extra_labels(labels, visible)
