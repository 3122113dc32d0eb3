"""Grafana alerting webhooks, in both of the shapes Grafana has sent.

The shape is told by its fields: ``alerts`` means unified alerting; ``evalMatches``, ``ruleId``
or ``ruleName`` means legacy alerting; neither is a ``PayloadError``.

Unified alerting (Grafana 8 and later, ``version`` "1")
    The ``alerts`` entries are Alertmanager's, read exactly as
    :mod:`integrations.sources.alertmanager.parser` reads them (key = ``fingerprint``, title =
    ``summary`` annotation / ``alertname`` label, severity = ``severity`` label, remaining
    annotations copied into free label slots), except that:

    * the default title is "Grafana alert";
    * links are ``dashboardURL`` ("Dashboard"), ``panelURL`` ("Panel"), ``silenceURL``
      ("Silence"), ``generatorURL`` ("Rule"), then the ``runbook_url`` / ``dashboard_url``
      annotations; empty URLs (Grafana sends ``""``) are left out;
    * ``imageURL`` (a screenshot, Grafana 9+) becomes an image;
    * the query results go at the end of the description, not into labels (they change on
      every evaluation and would make labels, which routes match on, unstable): ``values``
      (refID -> number) as a ``Values: B=44.2, C=1`` line, or, when there are none, the older
      ``valueString`` as a ``Value: ...`` line.

    The top-level ``title`` and ``message`` describe the whole notification, not one alert, and
    are not used. An empty ``alerts`` array is a ``PayloadError``.

Legacy alerting (Grafana 7 and earlier)
    One notification is one event, or none:

    * ``state``: ``alerting`` and ``no_data`` fire, ``ok`` resolves, ``paused`` and ``pending``
      give no event at all (an empty list; the push view answers 200 with nothing accepted).
    * ``alert_key``: ``grafana:<orgId>:<dashboardId>:<panelId>:<ruleId>`` when there is a
      ``ruleId``, else :func:`stable_key` of ``ruleName``.
    * ``title``: ``ruleName``, else ``title`` (which Grafana prefixes with the state).
    * ``severity``: the ``severity`` tag; without one, warning (so is ``no_data``).
    * ``description``: ``message``, then one ``metric = value`` line per ``evalMatches`` entry.
    * ``labels``: ``tags``. ``links``: ``ruleUrl`` ("Rule"). ``images``: ``imageUrl``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.alertmanager.parser import alert_entries, alert_event
from integrations.sources.common import (
    at,
    clean_labels,
    get_list,
    get_str,
    is_web_url,
    json_type,
    map_severity,
    optional_link,
    optional_object,
    require_object,
    to_text,
    truncate,
    truncated_alerts,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    Image,
    PayloadError,
    stable_key,
)

UNIFIED_LINK_FIELDS = (
    ("dashboardURL", "Dashboard"),
    ("panelURL", "Panel"),
    ("silenceURL", "Silence"),
    ("generatorURL", "Rule"),
)
_LEGACY_MARKERS = ("evalMatches", "ruleId", "ruleName")
_LEGACY_KINDS = {
    "alerting": EventKind.FIRING,
    "no_data": EventKind.FIRING,
    "ok": EventKind.RESOLVED,
    "paused": None,
    "pending": None,
}


def parse(payload: Any) -> list[AlertEvent]:
    """The events of a unified or legacy Grafana webhook (see the module docstring)."""
    body = require_object(payload, None)
    if "alerts" in body:
        return parse_unified(body)
    if any(marker in body for marker in _LEGACY_MARKERS):
        return parse_legacy(body)
    raise PayloadError(
        "the payload is neither unified alerting (it has no 'alerts') "
        "nor legacy alerting (it has no 'evalMatches', 'ruleId' or 'ruleName')",
        field="alerts",
    )


def truncated_count(payload: Any) -> int:
    """How many alerts Grafana left out of this batch (``truncatedAlerts``), 0 if none."""
    return truncated_alerts(payload)


# --- Unified alerting -------------------------------------------------------------------------


def parse_unified(body: dict[str, Any]) -> list[AlertEvent]:
    """One event per entry of a unified-alerting payload's ``alerts``."""
    events = []
    for index, item in enumerate(alert_entries(body)):
        field = at("alerts", index)
        entry = require_object(item, field)
        image_url = get_str(entry, "imageURL", field=at(field, "imageURL"))
        events.append(
            alert_event(
                entry,
                field=field,
                default_title="Grafana alert",
                link_fields=UNIFIED_LINK_FIELDS,
                details=_values_text(entry, field=field),
                images=(Image(src=image_url.strip()),) if is_web_url(image_url) else (),
            )
        )
    return events


def _values_text(entry: dict[str, Any], *, field: str) -> str:
    values = optional_object(entry, "values", field=at(field, "values"))
    if values:
        return "Values: " + ", ".join(f"{ref}={to_text(value)}" for ref, value in values.items())
    value_string = get_str(entry, "valueString", field=at(field, "valueString")).strip()
    return f"Value: {value_string}" if value_string else ""


# --- Legacy alerting --------------------------------------------------------------------------


def parse_legacy(body: dict[str, Any]) -> list[AlertEvent]:
    """The event of a legacy-alerting notification; none for ``paused`` and ``pending``."""
    state = get_str(body, "state", field="state", required=True)
    try:
        kind = _LEGACY_KINDS[state.strip().lower()]
    except KeyError:
        raise PayloadError(
            f"state must be one of {', '.join(_LEGACY_KINDS)}, not {truncate(state, 40)!r}",
            field="state",
        ) from None
    if kind is None:
        return []

    rule_name = get_str(body, "ruleName", field="ruleName").strip()
    labels = clean_labels(body.get("tags"), field="tags", lenient=True)
    raw_severity = labels.get("severity", "")
    image_url = get_str(body, "imageUrl", field="imageUrl")
    rule_url = get_str(body, "ruleUrl", field="ruleUrl")
    title = rule_name or get_str(body, "title", field="title").strip() or "Grafana alert"
    return [
        AlertEvent(
            alert_key=_legacy_key(body, rule_name),
            kind=kind,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=map_severity(raw_severity),
            raw_severity=raw_severity,
            description=truncate(_legacy_description(body), MAX_DESCRIPTION_CHARS),
            labels=labels,
            links=optional_link(rule_url, "Rule"),
            images=(
                (Image(src=image_url.strip(), alt=title, href=rule_url.strip()),)
                if is_web_url(image_url)
                else ()
            ),
        )
    ]


def _legacy_key(body: dict[str, Any], rule_name: str) -> str:
    rule_id = _legacy_id(body, "ruleId")
    if rule_id:
        scope = [_legacy_id(body, key) or "0" for key in ("orgId", "dashboardId", "panelId")]
        return ":".join(["grafana", *scope, rule_id])
    if rule_name:
        return stable_key("grafana-legacy", rule_name)
    raise PayloadError("ruleId or ruleName is required to identify the alert", field="ruleId")


def _legacy_id(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(f"{key} must be a number, not {json_type(value)}", field=key)
    return str(value).strip()


def _legacy_description(body: dict[str, Any]) -> str:
    lines = [get_str(body, "message", field="message")]
    for index, item in enumerate(get_list(body, "evalMatches", field="evalMatches")):
        where = at("evalMatches", index)
        match = require_object(item, where)
        metric = get_str(match, "metric", field=at(where, "metric")) or "value"
        lines.append(f"{metric} = {to_text(match.get('value'))}")
    return "\n".join(line for line in lines if line)
