"""Open-Falcon's alarm callback: flat fields, each a string.

Open-Falcon's alarm module calls a template's (or expression's) callback URL with these
parameters (``modules/alarm/cron/callback.go`` in falcon-plus): ``endpoint``, ``metric``,
``status`` (``PROBLEM`` or ``OK``), ``step`` (the notification's number), ``priority`` (0-6),
``time`` (``2006-01-02 15:04``, the server's local time), ``tpl_id``, ``exp_id``, ``stra_id``,
``left_value`` (the value that tripped it) and ``tags`` (``k:v,k:v``). They arrive as form fields
(``form_body``), as JSON or in the query string (:meth:`~.source.OpenFalconSource.parse_push`
merges it in); numbers may come as JSON numbers.

* ``alert_key``: :func:`stable_key` of the strategy (``stra_id``, else ``exp_id``), ``endpoint``,
  ``metric`` and the tags (in sorted order): one alert per series and rule.
* ``kind``: ``status`` ``PROBLEM`` fires, ``OK`` resolves; anything else is a ``PayloadError``.
* ``severity``: ``priority`` by the knowledge base's table: 0 and 1 critical, 2 and 3 warning, 4
  to 6 info; anything else warning.
* ``title``: "<metric> on <endpoint>". ``description``: the value, the step and the time as
  Open-Falcon sent them (its time has no zone, so it is not read as a time).
* ``labels``: the tags, then ``endpoint``, ``metric`` and ``priority`` in free slots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_str,
    merge_extra_labels,
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
    ("0", Severity.CRITICAL),
    ("1", Severity.CRITICAL),
    ("2", Severity.WARNING),
    ("3", Severity.WARNING),
    ("4", Severity.INFO),
    ("5", Severity.INFO),
    ("6", Severity.INFO),
)
FIELDS = (
    "endpoint",
    "metric",
    "status",
    "step",
    "priority",
    "time",
    "tpl_id",
    "exp_id",
    "stra_id",
    "left_value",
    "tags",
)
_KINDS = {"PROBLEM": EventKind.FIRING, "OK": EventKind.RESOLVED}


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a callback (see the module docstring)."""
    fields = require_object(payload, None)
    endpoint = _text(fields, "endpoint", required=True)
    metric = _text(fields, "metric", required=True)
    tags = clean_labels(_tag_pairs(_text(fields, "tags")), field="tags", lenient=True)
    priority = _text(fields, "priority")
    strategy = _nonzero(_text(fields, "stra_id")) or _nonzero(_text(fields, "exp_id"))
    extra = {"endpoint": endpoint, "metric": metric, "priority": priority}
    return [
        AlertEvent(
            alert_key=stable_key("open-falcon", strategy, endpoint, metric, sorted(tags.items())),
            kind=_kind(fields),
            title=truncate(f"{metric} on {endpoint}", MAX_TITLE_CHARS),
            severity=severity_from_table(priority, SEVERITY_TABLE),
            raw_severity=priority,
            description=truncate(_description(fields), MAX_DESCRIPTION_CHARS),
            labels=merge_extra_labels(tags, {k: v for k, v in extra.items() if v}),
        )
    ]


def with_query(payload: Any, query: Mapping[str, str]) -> Any:
    """The callback's fields from the body and the query string (the body wins)."""
    from_query = {key: value for key, value in query.items() if key in FIELDS}
    if not from_query:
        return payload
    if payload in (None, "", {}):
        return from_query
    return {**from_query, **payload} if isinstance(payload, dict) else payload


def recognises(payload: Any) -> bool:
    """Open-Falcon's fields: ``endpoint``, ``metric``, ``status`` and a template or strategy id."""
    return (
        isinstance(payload, dict)
        and {"endpoint", "metric", "status"} <= payload.keys()
        and bool({"tpl_id", "stra_id", "exp_id"} & payload.keys())
    )


def _text(fields: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = fields.get(key)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return to_text(value)
    return get_str(fields, key, field=key, required=required).strip()


def _nonzero(text: str) -> str:
    # Open-Falcon sends 0 for the id that does not apply (an expression has no strategy).
    return "" if text == "0" else text


def _kind(fields: dict[str, Any]) -> EventKind:
    status = _text(fields, "status", required=True)
    try:
        return _KINDS[status.upper()]
    except KeyError:
        raise PayloadError(
            f"status must be PROBLEM or OK, not {truncate(status, 40)!r}", field="status"
        ) from None


def _tag_pairs(text: str) -> dict[str, str]:
    # "k:v,k:v" (callback.go joins PushedTags with ":" and ","); a pair without ":" is skipped.
    pairs = {}
    for pair in text.split(","):
        key, sep, value = pair.partition(":")
        if sep and key.strip():
            pairs[key.strip()] = value.strip()
    return pairs


def _description(fields: dict[str, Any]) -> str:
    parts = [
        f"Value: {value}" if (value := _text(fields, "left_value")) else "",
        f"Step: {step}" if (step := _text(fields, "step")) else "",
        f"Time: {when}" if (when := _text(fields, "time")) else "",
    ]
    return "\n".join(part for part in parts if part)
