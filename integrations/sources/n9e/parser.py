"""Nightingale (n9e) and Flashcat alert events, as their callbacks post them.

Nightingale posts one ``AlertCurEvent`` as a JSON object (a global or per-rule callback URL, v5
to v8); newer notification rules may post a list of them. Both are read, one event each.

Mapping of one event:

* ``alert_key``: ``hash`` (Nightingale's rule id + series identity, the same for every
  notification and the recovery of one alert). Without a hash: :func:`stable_key` of
  ``rule_id`` and the tags, and ``rule_id`` is then required.
* ``kind``: ``is_recovered`` true resolves, false or missing fires.
* ``severity``: ``severity`` 1 critical, 2 warning, 3 info (the knowledge base's table); any
  other value warning. ``raw_severity`` is the number as text.
* ``title``: ``rule_name``, else "Nightingale alert".
* ``description``: ``rule_note``, then ``Value: <trigger_value>`` and ``Query: <prom_ql>``
  lines when they are set.
* ``labels``: ``tags_map``, else the ``tags`` list of ``key=value`` strings; then, in free
  slots, ``rule_name``, ``group_name``, ``cluster``, ``target_ident`` and the ``annotations``.
* ``links``: ``runbook_url`` ("Runbook"); with the source's ``console_url`` option (as the
  knowledge base's "Console URL"), the event's page ``<console_url>/alert-his-events/<id>``
  ("Nightingale"): Nightingale gives the current event its history event's id, so the page
  exists for a firing and a recovered event alike.
* ``starts_at``: ``first_trigger_time``, else ``trigger_time`` (Unix seconds);
  ``ends_at``: ``last_eval_time`` of a recovery.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    clean_annotations,
    clean_labels,
    get_list,
    get_str,
    json_type,
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
    PayloadError,
    Severity,
    stable_key,
)

SEVERITY_TABLE = (
    ("1", Severity.CRITICAL),
    ("2", Severity.WARNING),
    ("3", Severity.INFO),
)
_EXTRA_FIELDS = ("rule_name", "group_name", "cluster", "target_ident")


def parse(payload: Any, *, console_url: str = "") -> list[AlertEvent]:
    """One event per Nightingale alert event (an object, or a list of them); ``console_url``
    is the source's option (Nightingale's address, for links to the events)."""
    if isinstance(payload, list):
        if not payload:
            raise PayloadError("the list of events is empty", field=None)
        return [
            event_from(item, field=at(None, index), console_url=console_url)
            for index, item in enumerate(payload)
        ]
    return [event_from(payload, field=None, console_url=console_url)]


def recognises(payload: Any) -> bool:
    """Nightingale's events carry ``rule_id``, ``hash`` and ``is_recovered`` together."""
    first = payload[0] if isinstance(payload, list) and payload else payload
    return isinstance(first, dict) and {"rule_id", "hash", "is_recovered"} <= first.keys()


def event_from(item: Any, *, field: str | None, console_url: str = "") -> AlertEvent:
    event = require_object(item, field)
    recovered = _is_recovered(event, field=at(field, "is_recovered"))
    labels = _labels(event, field=field)
    raw_severity = _severity_text(event.get("severity"), field=at(field, "severity"))
    title = get_str(event, "rule_name", field=at(field, "rule_name")).strip()
    return AlertEvent(
        alert_key=_key(event, labels, field=field),
        kind=EventKind.RESOLVED if recovered else EventKind.FIRING,
        title=truncate(title or "Nightingale alert", MAX_TITLE_CHARS),
        severity=severity_from_table(raw_severity, SEVERITY_TABLE),
        raw_severity=raw_severity,
        description=truncate(_description(event, field=field), MAX_DESCRIPTION_CHARS),
        labels=labels,
        links=(
            optional_link(get_str(event, "runbook_url", field=at(field, "runbook_url")), "Runbook")
            + optional_link(_event_page(event, console_url), "Nightingale")
        ),
        starts_at=parse_epoch_time(
            event.get("first_trigger_time") or event.get("trigger_time"),
            field=at(
                field, "first_trigger_time" if event.get("first_trigger_time") else "trigger_time"
            ),
        ),
        ends_at=(
            parse_epoch_time(event.get("last_eval_time"), field=at(field, "last_eval_time"))
            if recovered
            else None
        ),
    )


def _is_recovered(event: dict[str, Any], *, field: str) -> bool:
    value = event.get("is_recovered", False)
    if not isinstance(value, bool):
        raise PayloadError(f"{field} must be true or false, not {json_type(value)}", field=field)
    return value


def _severity_text(value: Any, *, field: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError(f"{field} must be a number, not {json_type(value)}", field=field)
    return str(value).strip()


def _labels(event: dict[str, Any], *, field: str | None) -> dict[str, str]:
    if event.get("tags_map"):
        labels = clean_labels(event["tags_map"], field=at(field, "tags_map"), lenient=True)
    else:
        labels = clean_labels(
            _tag_pairs(event, field=at(field, "tags")), field=at(field, "tags"), lenient=True
        )
    extra = {
        key: text
        for key in _EXTRA_FIELDS
        if (text := get_str(event, key, field=at(field, key)).strip())
    }
    extra.update(clean_annotations(event.get("annotations"), field=at(field, "annotations")))
    return merge_extra_labels(labels, extra)


def _tag_pairs(event: dict[str, Any], *, field: str) -> dict[str, str]:
    # Nightingale's tags are "key=value" strings; anything without "=" is not a label.
    pairs = {}
    for index, tag in enumerate(get_list(event, "tags", field=field)):
        if not isinstance(tag, str):
            where = at(field, index)
            raise PayloadError(f"{where} must be a string, not {json_type(tag)}", field=where)
        key, sep, value = tag.partition("=")
        if sep and key.strip():
            pairs[key.strip()] = value
    return pairs


def _key(event: dict[str, Any], labels: dict[str, str], *, field: str | None) -> str:
    hash_ = get_str(event, "hash", field=at(field, "hash")).strip()
    if hash_:
        return hash_
    rule_id = event.get("rule_id")
    if rule_id is None or rule_id == "" or isinstance(rule_id, bool | dict | list):
        where = at(field, "hash")
        raise PayloadError(f"{where} or rule_id is required to identify the alert", field=where)
    return stable_key("n9e", to_text(rule_id), sorted(labels.items()))


def _description(event: dict[str, Any], *, field: str | None) -> str:
    lines = [get_str(event, "rule_note", field=at(field, "rule_note")).strip()]
    value = event.get("trigger_value")
    if value not in (None, ""):
        lines.append(f"Value: {to_text(value)}")
    query = get_str(event, "prom_ql", field=at(field, "prom_ql")).strip()
    if query:
        lines.append(f"Query: {query}")
    return "\n".join(line for line in lines if line)


def _event_page(event: dict[str, Any], console_url: str) -> str:
    event_id = event.get("id")
    if (
        not console_url
        or isinstance(event_id, bool)
        or not isinstance(event_id, int)
        or event_id <= 0
    ):
        return ""
    return f"{console_url.rstrip('/')}/alert-his-events/{event_id}"
