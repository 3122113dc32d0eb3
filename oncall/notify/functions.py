"""The functions templates call, named and behaving as in the knowledge base's templates.

Go templates pass the whole data as ``.``; here it is ``root`` (``{{joinAlertLabels . "resource"
", "}}`` becomes ``{{ joinAlertLabels(root, "resource", ", ") }}``). Go's ``in``, ``and``,
``or``, ``not``, ``eq``... are Jinja operators (``k in ["a", "b"]``, ``a == b``); ``eq``,
``ne``, ``lt``, ``le``, ``gt``, ``ge`` and ``index`` are here too, so converted templates read
alike. Every function is pure and bounded; none touches the database, files or the network
except ``transferImage``, which asks the medium's platform to upload (when it can).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from oncall.events import Severity

# Go's reference time, piece by piece, and the strftime directive each piece means.
_GO_LAYOUT = [
    ("2006", "%Y"),
    ("January", "%B"),
    ("Jan", "%b"),
    ("01", "%m"),
    ("Monday", "%A"),
    ("Mon", "%a"),
    ("02", "%d"),
    ("_2", "%e"),
    ("15", "%H"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("PM", "%p"),
    ("MST", "%Z"),
    ("-0700", "%z"),
    ("06", "%y"),
    ("1", "%-m"),
    ("2", "%-d"),
    ("3", "%-I"),
    ("4", "%-M"),
    ("5", "%-S"),
]
_GO_TOKEN = re.compile("|".join(re.escape(go) for go, _ in _GO_LAYOUT))
_STRFTIME = dict(_GO_LAYOUT)
_SEVERITY_COLOURS = {
    "Critical": "#C80000",
    "Warning": "#FA7D00",
    "Info": "#FABE00",
    "Ok": "#008800",
}


def functions(*, tz: tzinfo, now: datetime, upload: Callable[[str], str] | None) -> dict[str, Any]:
    """The functions of one render: dates in ``tz``; ``upload`` turns an image address into
    one the platform shows (None: the medium cannot show uploaded images)."""
    return {
        "joinAlertLabels": join_alert_labels,
        "alertLabels": alert_labels,
        "toHtml": to_html,
        "jsonGet": json_get,
        "imageSrcToURL": image_src_to_url,
        "transferImage": lambda root, src: _transfer(upload, src),
        "date": lambda layout, value: format_date(layout, value, tz),
        "ago": lambda value: ago(value, now),
        "colorSeverity": color_severity,
        "toSeverity": to_severity,
        "fireReason": fire_reason,
        "index": index,
        "eq": lambda a, b: a == b,
        "ne": lambda a, b: a != b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
        "contains": lambda needle, text: str(needle) in str(text),
        "hasPrefix": lambda text, prefix: str(text).startswith(str(prefix)),
        "hasSuffix": lambda text, suffix: str(text).endswith(str(suffix)),
        "trunc": truncate,
        "clip": clip,
        "oneLine": one_line,
        "default": lambda fallback, value=None: value if value else fallback,
        "upper": lambda text: str(text).upper(),
        "lower": lambda text: str(text).lower(),
        "trim": lambda text: str(text).strip(),
    }


def join_alert_labels(root: Mapping[str, Any], key: str, sep: str) -> str:
    """A label's distinct values over the incident's alerts, in order, joined by ``sep``."""
    return str(sep).join(alert_labels(root, key))


def alert_labels(root: Mapping[str, Any], key: str) -> list[str]:
    """A label's distinct values over the incident's alerts, in the alerts' order."""
    values: dict[str, None] = {}
    for alert in root.get("Alerts") or ():
        value = (alert.get("Labels") or {}).get(key)
        if value not in (None, ""):
            values[str(value)] = None
    return list(values)


def to_html(*values: Any) -> str:
    """The first non-empty value. (In the knowledge base it also stops Go's HTML escaping;
    here every value is escaped for its medium, which never shows entities to a reader.)"""
    for value in values:
        if value not in (None, "") and not _undefined(value):
            return str(value)
    return ""


def index(container: Any, *keys: Any) -> Any:
    """``index .Labels "A.B"``: a key or an index, as Go's ``index``; missing gives ``""``."""
    value = container
    for key in keys:
        try:
            value = value[key]
        except (KeyError, IndexError, TypeError):
            return ""
    return value


def json_get(text: Any, path: str) -> Any:
    """A value from JSON text by a GJSON path: ``a.b``, ``0.name`` (array index), ``#``
    (length), ``items.#.name`` (that field of every element), ``#(k==v)`` (the first element
    whose ``k`` is ``v``), ``#(k==v)#`` (every such element); ``\\.`` escapes a dot. Anything
    not found, or text that is not JSON, gives ``""``."""
    try:
        value = json.loads(text) if isinstance(text, str | bytes) else text
    except ValueError:
        return ""
    result = _walk(value, _path_parts(str(path)))
    return "" if result is _MISSING else result


def image_src_to_url(root: Mapping[str, Any], src: Any) -> str:
    """An image's address a reader's client can open: an http(s) URL as it is; anything else
    (the console keeps no uploaded images of its own) gives ``""``."""
    text = str(src or "")
    return text if text.startswith(("https://", "http://")) else ""


def format_date(layout: str, value: Any, tz: tzinfo) -> str:
    """``date "2006-01-02 15:04:05" .StartTime``: a Unix time (or a datetime) in the channel's
    time zone, laid out the Go way (by the reference time Mon Jan 2 15:04:05 MST 2006)."""
    moment = _moment(value)
    if moment is None:
        return ""
    strftime = _GO_TOKEN.sub(lambda match: _STRFTIME[match.group(0)], str(layout))
    return moment.astimezone(tz).strftime(strftime)


def ago(value: Any, now: datetime) -> str:
    """How long ago, in words: "5 minutes", "2 hours 3 minutes"."""
    moment = _moment(value)
    if moment is None:
        return ""
    seconds = max(int((now - moment).total_seconds()), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if minutes or not parts:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes})
    return " ".join(parts[:2])


def color_severity(severity: Any) -> str:
    """The severity's colour: #C80000 critical, #FA7D00 warning, #FABE00 info, #008800 ok."""
    return _SEVERITY_COLOURS.get(str(severity), "")


def to_severity(severity: Any) -> str:
    """The severity's name in the reader's language."""
    try:
        return str(Severity(str(severity).lower()).label)
    except ValueError:
        return _("Recovered") if str(severity) == "Ok" else str(severity)


def fire_reason(root: Mapping[str, Any]) -> str:
    """A prefix for notifications sent again by a repeating escalation ("Repeat: "), else
    nothing."""
    return _("Repeat: ") if root.get("FireType") == "refire" else ""


def truncate(length: Any, text: Any) -> str:
    """Sprig's ``trunc``: the first ``length`` characters (the last ones when negative)."""
    limit, value = int(length), str(text)
    return value[limit:] if limit < 0 else value[:limit]


def clip(text: Any, limit: Any) -> str:
    """At most ``limit`` characters, the last one an ellipsis when cut."""
    value, size = str(text or ""), int(limit)
    return value if len(value) <= size else value[: max(size - 1, 0)] + "…"


def one_line(text: Any) -> str:
    """The text on one line (a label with line breaks could pass for more labels)."""
    return " ".join(str(text or "").splitlines())


# --- internals ----------------------------------------------------------------------------

_MISSING = object()
_QUERY = re.compile(r"^#\((?P<key>[^=!<>]+?)\s*(?P<op>==|!=)\s*(?P<value>.*?)\)(?P<all>#?)$")


def _path_parts(path: str) -> list[str]:
    parts, current, escaped = [], "", False
    depth = 0
    for char in path:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
            current += char
        elif char == ")":
            depth -= 1
            current += char
        elif char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def _walk(value: Any, parts: list[str]) -> Any:
    if not parts:
        return value
    head, rest = parts[0], parts[1:]
    if head == "#":
        if not isinstance(value, list):
            return _MISSING
        if not rest:
            return len(value)
        found = [_walk(item, rest) for item in value]
        return [item for item in found if item is not _MISSING]
    query = _QUERY.match(head)
    if query:
        return _query(value, query, rest)
    if isinstance(value, dict):
        return _walk(value[head], rest) if head in value else _MISSING
    if isinstance(value, list) and head.isdigit():
        position = int(head)
        return _walk(value[position], rest) if position < len(value) else _MISSING
    return _MISSING


def _query(value: Any, query: re.Match[str], rest: list[str]) -> Any:
    if not isinstance(value, list):
        return _MISSING
    wanted = _literal(query.group("value"))
    key, equal = query.group("key").strip(), query.group("op") == "=="
    matches = [
        item
        for item in value
        if isinstance(item, dict) and key in item and (item[key] == wanted) == equal
    ]
    if query.group("all"):
        found = [_walk(item, rest) for item in matches]
        return [item for item in found if item is not _MISSING]
    return _walk(matches[0], rest) if matches else _MISSING


def _literal(text: str) -> Any:
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, UTC)
    return None


def _transfer(upload: Callable[[str], str] | None, src: Any) -> str:
    text = str(src or "")
    if not text:
        return ""
    if upload is None:
        return image_src_to_url({}, text)
    return upload(text)


def _undefined(value: Any) -> bool:
    from jinja2 import Undefined

    return isinstance(value, Undefined)
