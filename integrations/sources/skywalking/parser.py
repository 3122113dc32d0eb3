"""Apache SkyWalking's alarm webhook: a JSON array of alarm messages.

SkyWalking posts ``List<AlarmMessage>`` (``webhooks`` up to 9.x, ``hooks.webhook`` in 10.x) and,
since 10.x, ``List<AlarmRecoveryMessage>`` to the same URL when alarms recover: the same fields
plus ``recoveryTime``. One event per entry:

* ``alert_key``: :func:`stable_key` of ``scope`` (else ``scopeId``), ``id0``, ``id1`` and
  ``ruleName``: the entity and the rule, the same for repeats and the recovery (not ``uuid``,
  which only 10.x sends).
* ``kind``: an entry with a ``recoveryTime`` resolves; any other fires.
* ``severity``: the ``level`` tag by the knowledge base's table (Critical, Warning, Info; any
  other value or none: info), compared without case (SkyWalking's own examples write
  ``CRITICAL``).
* ``title``: ``alarmMessage`` (SkyWalking renders the rule's message for the entity), else
  "<ruleName> on <name>". ``description``: ``alarmMessage`` then the scope and entity.
* ``labels``: the tags, then ``scope``, ``name``, ``rule_name`` in free slots.
* ``starts_at``: ``startTime`` (Unix milliseconds); ``ends_at``: ``recoveryTime``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    at,
    clean_labels,
    get_list,
    get_str,
    json_type,
    merge_extra_labels,
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
    ("Critical", Severity.CRITICAL),
    ("Warning", Severity.WARNING),
    ("Info", Severity.INFO),
)
_MARKERS = {"scopeId", "ruleName", "alarmMessage"}


def parse(payload: Any) -> list[AlertEvent]:
    """One event per alarm message of the array (see the module docstring)."""
    if isinstance(payload, dict):
        payload = [payload]  # a hand-written sender may post one message
    if not isinstance(payload, list):
        raise PayloadError(
            f"the payload must be a JSON array of alarm messages, not {json_type(payload)}",
            field=None,
        )
    if not payload:
        raise PayloadError("the array of alarm messages is empty", field=None)
    return [_event(item, field=at(None, index)) for index, item in enumerate(payload)]


def recognises(payload: Any) -> bool:
    """SkyWalking's alarm messages: ``scopeId``, ``ruleName`` and ``alarmMessage``."""
    first = payload[0] if isinstance(payload, list) and payload else payload
    return isinstance(first, dict) and first.keys() >= _MARKERS


def _event(item: Any, *, field: str) -> AlertEvent:
    message = require_object(item, field)
    rule = get_str(message, "ruleName", field=at(field, "ruleName"), required=True).strip()
    name = get_str(message, "name", field=at(field, "name")).strip()
    scope = get_str(message, "scope", field=at(field, "scope")).strip() or _scope_id(message, field)
    text = get_str(message, "alarmMessage", field=at(field, "alarmMessage")).strip()
    tags = _tags(message, field=at(field, "tags"))
    level = tags.get("level", "")
    recovered_at = parse_epoch_time(
        message.get("recoveryTime"), field=at(field, "recoveryTime"), unit="ms"
    )
    identity = [scope, _id(message, "id0", field), _id(message, "id1", field), rule]
    extra = {"scope": scope, "name": name, "rule_name": rule}
    return AlertEvent(
        alert_key=stable_key("skywalking", *identity),
        kind=EventKind.RESOLVED if recovered_at else EventKind.FIRING,
        title=truncate(text or f"{rule} on {name or scope}", MAX_TITLE_CHARS),
        severity=severity_from_table(level, SEVERITY_TABLE, Severity.INFO),
        raw_severity=level,
        description=truncate(
            "\n".join(line for line in (text, f"{scope}: {name}" if name else "") if line),
            MAX_DESCRIPTION_CHARS,
        ),
        labels=merge_extra_labels(tags, {k: v for k, v in extra.items() if v}),
        starts_at=parse_epoch_time(
            message.get("startTime"), field=at(field, "startTime"), unit="ms"
        ),
        ends_at=recovered_at,
    )


def _scope_id(message: dict[str, Any], field: str) -> str:
    value = message.get("scopeId")
    if isinstance(value, bool) or not isinstance(value, int | str) or value == "":
        where = at(field, "scope")
        raise PayloadError(f"{where} or scopeId is required to identify the alarm", field=where)
    return str(value)


def _id(message: dict[str, Any], key: str, field: str) -> str:
    value = message.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | str):
        where = at(field, key)
        raise PayloadError(f"{where} must be a string, not {json_type(value)}", field=where)
    return to_text(value).strip()


def _tags(message: dict[str, Any], *, field: str) -> dict[str, str]:
    # SkyWalking's tags are [{"key", "value"}] (AlarmMessage.tags, a List<Tag>).
    pairs = {}
    for index, item in enumerate(get_list(message, "tags", field=field)):
        where = at(field, index)
        tag = require_object(item, where)
        key = get_str(tag, "key", field=at(where, "key"), required=True).strip()
        pairs[key] = tag.get("value") if tag.get("value") is not None else ""
    return clean_labels(pairs, field=field, lenient=True)
