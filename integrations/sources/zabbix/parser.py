"""What the console's Zabbix media-type script (``media_type.js``) posts.

Zabbix has no fixed webhook body: a webhook media type runs a script with the parameters the
user lists. The console ships that script; it posts one JSON object per problem, problem update
and recovery, every value a string (the macros in :data:`MEDIA_TYPE_PARAMETERS`), except
``event_tags`` (``{EVENT.TAGSJSON}`` decoded: ``[{"tag", "value"}]``).

* ``alert_key``: ``event_id`` (``{EVENT.ID}``). Zabbix gives a problem's recovery and updates
  the problem's event id, so they all reach the same alert. Required.
* ``kind``: ``event_value`` ``1`` (problem) fires, ``0`` (recovery) resolves; a problem update
  (``event_update_status`` ``1``: acknowledged, commented, severity changed) fires again, which
  refreshes the alert. Anything else is a ``PayloadError``.
* ``severity``: ``event_severity`` by the knowledge base's table (Disaster and High critical,
  Average and Warning warning, Information and Not classified info). Zabbix lets an admin rename
  severities, so a name the table does not know falls back to ``event_nseverity`` (5 and 4
  critical, 3 and 2 warning, 1 and 0 info), then warning.
* ``title``: ``event_name``, else ``alert_subject``, else "Zabbix problem".
* ``description``: ``alert_message``, else ``trigger_description``; then ``Operational data:
  <event_opdata>`` when set.
* ``labels``: the event's tags (a repeated tag keeps its last value), then ``host``,
  ``host_ip`` and ``trigger_id`` in free slots.
* ``links``: the event's page, ``<zabbix_url>/tr_events.php?triggerid=…&eventid=…`` ("Zabbix"),
  when ``zabbix_url`` is an http(s) URL.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    clean_labels,
    first_nonblank,
    get_list,
    get_str,
    json_type,
    merge_extra_labels,
    optional_link,
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
)

#: The media type's parameters (name, value), in the order the set-up steps list them.
MEDIA_TYPE_PARAMETERS = (
    ("URL", "<the push URL>"),
    ("HTTPProxy", ""),
    ("zabbix_url", "<your Zabbix front end, e.g. https://zabbix.example.org>"),
    ("event_id", "{EVENT.ID}"),
    ("event_value", "{EVENT.VALUE}"),
    ("event_update_status", "{EVENT.UPDATE.STATUS}"),
    ("event_name", "{EVENT.NAME}"),
    ("event_severity", "{EVENT.SEVERITY}"),
    ("event_nseverity", "{EVENT.NSEVERITY}"),
    ("event_tags", "{EVENT.TAGSJSON}"),
    ("event_opdata", "{EVENT.OPDATA}"),
    ("trigger_id", "{TRIGGER.ID}"),
    ("trigger_description", "{TRIGGER.DESCRIPTION}"),
    ("host_name", "{HOST.NAME}"),
    ("host_ip", "{HOST.IP}"),
    ("alert_subject", "{ALERT.SUBJECT}"),
    ("alert_message", "{ALERT.MESSAGE}"),
)

SEVERITY_TABLE = (
    ("Disaster", Severity.CRITICAL),
    ("High", Severity.CRITICAL),
    ("Average", Severity.WARNING),
    ("Warning", Severity.WARNING),
    ("Information", Severity.INFO),
    ("Not classified", Severity.INFO),
)
NUMERIC_SEVERITY_TABLE = (
    ("5", Severity.CRITICAL),
    ("4", Severity.CRITICAL),
    ("3", Severity.WARNING),
    ("2", Severity.WARNING),
    ("1", Severity.INFO),
    ("0", Severity.INFO),
)
_SEVERITY_NAMES = {name.lower() for name, _ in SEVERITY_TABLE}
_KINDS = {"1": EventKind.FIRING, "0": EventKind.RESOLVED}


def parse(payload: Any) -> list[AlertEvent]:
    """The one event the media-type script posted (see the module docstring)."""
    body = require_object(payload, None)
    event_id = _text(body, "event_id", required=True)
    extra = {
        "host": _text(body, "host_name"),
        "host_ip": _text(body, "host_ip"),
        "trigger_id": _text(body, "trigger_id"),
    }
    labels = merge_extra_labels(_tag_labels(body), {k: v for k, v in extra.items() if v})
    raw_severity = _text(body, "event_severity")
    title = first_nonblank(_text(body, "event_name"), _text(body, "alert_subject"))
    return [
        AlertEvent(
            alert_key=event_id,
            kind=_kind(body),
            title=truncate(title.strip() or "Zabbix problem", MAX_TITLE_CHARS),
            severity=_severity(raw_severity, _text(body, "event_nseverity")),
            raw_severity=raw_severity,
            description=truncate(_description(body), MAX_DESCRIPTION_CHARS),
            labels=labels,
            links=optional_link(_event_page(body, event_id), "Zabbix"),
        )
    ]


def recognises(payload: Any) -> bool:
    """The script's body: ``event_id``, ``event_value`` and ``trigger_id`` together."""
    return isinstance(payload, dict) and {"event_id", "event_value", "trigger_id"} <= payload.keys()


def _text(body: dict[str, Any], key: str, *, required: bool = False) -> str:
    # The script sends strings; a hand-written sender may send ids as numbers.
    value = body.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return to_text(value)
    return get_str(body, key, field=key, required=required).strip()


def _kind(body: dict[str, Any]) -> EventKind:
    value = _text(body, "event_value", required=True)
    if value not in _KINDS:
        raise PayloadError(
            f"event_value must be 1 (problem) or 0 (recovery), not {truncate(value, 40)!r}",
            field="event_value",
        )
    return _KINDS[value]


def _severity(name: str, number: str) -> Severity:
    if name.lower() in _SEVERITY_NAMES:
        return severity_from_table(name, SEVERITY_TABLE)
    return severity_from_table(number, NUMERIC_SEVERITY_TABLE)


def _tag_labels(body: dict[str, Any]) -> dict[str, str]:
    tags = {}
    for index, item in enumerate(get_list(body, "event_tags", field="event_tags")):
        where = at("event_tags", index)
        entry = require_object(item, where)
        name = get_str(entry, "tag", field=at(where, "tag"), required=True).strip()
        value = entry.get("value")
        if value is not None and not isinstance(value, str):
            raise PayloadError(
                f"{at(where, 'value')} must be a string, not {json_type(value)}",
                field=at(where, "value"),
            )
        tags[name] = value or ""
    return clean_labels(tags, field="event_tags", lenient=True)


def _description(body: dict[str, Any]) -> str:
    text = first_nonblank(_text(body, "alert_message"), _text(body, "trigger_description"))
    opdata = _text(body, "event_opdata")
    return "\n\n".join(
        part for part in (text, f"Operational data: {opdata}" if opdata else "") if part
    )


def _event_page(body: dict[str, Any], event_id: str) -> str:
    base = _text(body, "zabbix_url").rstrip("/")
    trigger_id = _text(body, "trigger_id")
    if not base or not trigger_id:
        return ""
    return f"{base}/tr_events.php?triggerid={trigger_id}&eventid={event_id}"
