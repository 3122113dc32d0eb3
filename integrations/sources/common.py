"""Helpers shared by the alert-source parsers: severities, labels, strings, times, links.

Every helper is pure and raises :class:`~oncall.events.PayloadError` with a ``field`` path such
as ``alerts[2].labels`` and a message that names that path and says what is wrong with it.

Severity words
    :func:`map_severity` folds a sender's word (case-insensitively, surrounding blanks ignored)
    into the console's three levels, using :data:`SEVERITY_ALIASES`:

    * critical: critical, crit, disaster, fatal, emergency, alert, page, high, error, p0, p1
    * warning: warning, warn, major, medium, minor, average, p2, p3
    * info: info, informational, information, notice, low, ok, none, p4, p5

    A missing, empty or unknown word maps to the caller's default (warning unless told).

Labels
    :func:`clean_labels` checks a sender's labels against the contract limits (at most
    ``MAX_LABELS`` labels, keys of 1 to ``MAX_LABEL_KEY_CHARS`` characters, string values of at
    most ``MAX_LABEL_VALUE_CHARS``). In *strict* mode (our own protocol) every violation is a
    ``PayloadError``. In *lenient* mode (senders we cannot change) number and boolean values are
    rendered as JSON text (``1``, ``0.5``, ``true``) and over-long values are truncated; too many
    labels, bad keys and non-scalar values are still errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from oncall.events import (
    MAX_LABEL_KEY_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_LABELS,
    Image,
    Link,
    PayloadError,
    Severity,
    stable_key,
)

ELLIPSIS = "…"

SEVERITY_ALIASES: Mapping[str, Severity] = {
    **dict.fromkeys(
        (
            "critical",
            "crit",
            "disaster",
            "fatal",
            "emergency",
            "alert",
            "page",
            "high",
            "error",
            "p0",
            "p1",
        ),
        Severity.CRITICAL,
    ),
    **dict.fromkeys(
        ("warning", "warn", "major", "medium", "minor", "average", "p2", "p3"),
        Severity.WARNING,
    ),
    **dict.fromkeys(
        ("info", "informational", "information", "notice", "low", "ok", "none", "p4", "p5"),
        Severity.INFO,
    ),
}

# Go's zero time.Time, which Alertmanager and Grafana send for "not set".
_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


# --- Severity ---------------------------------------------------------------------------------


def map_severity(raw: Any, default: Severity = Severity.WARNING) -> Severity:
    """Map a sender's severity word to a :class:`Severity` (see the module docstring).

    Non-string values (a number, ``None``) are looked up by their text; anything unknown gives
    ``default``.
    """
    if raw is None or isinstance(raw, dict | list):
        return default
    return SEVERITY_ALIASES.get(str(raw).strip().lower(), default)


def severity_from_table(
    raw: Any,
    table: Mapping[str, Severity] | Iterable[tuple[str, Severity]],
    default: Severity = Severity.WARNING,
) -> Severity:
    """The severity a sender's own documented table gives ``raw`` (compared as text, ignoring
    case and surrounding blanks; a number matches its digits), else ``default``. ``table`` is
    a mapping or (word, severity) pairs, such as a source's ``severity_table``.

    For senders whose words mean something else than :data:`SEVERITY_ALIASES` says (Huawei's
    "Major" is critical for Cloud Eye but a warning for LTS; OceanBase's "critical" is a
    warning; Graylog's priority ``3`` is critical)."""
    if raw is None or isinstance(raw, bool | dict | list):
        return default
    word = str(raw).strip().lower()
    pairs = table.items() if isinstance(table, Mapping) else table
    return next((severity for key, severity in pairs if key.lower() == word), default)


# --- Field paths and JSON types ---------------------------------------------------------------


def at(parent: str | None, key: str | int) -> str:
    """The path of ``key`` inside ``parent``: ``at("alerts", 2) == "alerts[2]"``,
    ``at("alerts[2]", "labels") == "alerts[2].labels"``, ``at(None, "title") == "title"``."""
    if isinstance(key, int):
        return f"{parent or ''}[{key}]"
    return f"{parent}.{key}" if parent else key


def json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def to_text(value: Any) -> str:
    """A string as itself; any other JSON value as compact JSON (``0.75``, ``true``, ``null``,
    ``{"a":1}``), keeping non-ASCII characters as they are."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float)


# --- Objects, strings, lists ------------------------------------------------------------------


def require_object(value: Any, field: str | None) -> dict[str, Any]:
    """``value`` itself if it is a JSON object, else a ``PayloadError``."""
    if not isinstance(value, dict):
        where = field or "the payload"
        raise PayloadError(f"{where} must be a JSON object, not {json_type(value)}", field=field)
    return value


def optional_object(obj: Mapping[str, Any], key: str, *, field: str) -> dict[str, Any]:
    """``obj[key]`` if it is an object, ``{}`` if it is missing or null, else a ``PayloadError``."""
    value = obj.get(key)
    return {} if value is None else require_object(value, field)


def get_str(
    obj: Mapping[str, Any],
    key: str,
    *,
    field: str,
    required: bool = False,
    max_chars: int | None = None,
) -> str:
    """The string at ``obj[key]``; ``""`` when it is missing or null and not ``required``.

    A required string must also not be blank. ``max_chars`` rejects longer strings (use
    :func:`truncate` instead where the sender cannot be fixed).
    """
    value = obj.get(key)
    if value is None:
        if required:
            raise PayloadError(f"{field} is required", field=field)
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"{field} must be a string, not {json_type(value)}", field=field)
    if required and not value.strip():
        raise PayloadError(f"{field} must not be empty", field=field)
    if max_chars is not None and len(value) > max_chars:
        raise PayloadError(
            f"{field} is {len(value)} characters long; at most {max_chars} are allowed",
            field=field,
        )
    return value


def get_list(obj: Mapping[str, Any], key: str, *, field: str) -> list[Any]:
    """The array at ``obj[key]``; ``[]`` when it is missing or null."""
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{field} must be an array, not {json_type(value)}", field=field)
    return value


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when something was cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def first_nonblank(*candidates: str) -> str:
    """The first candidate that is not empty or only whitespace, else ``""``."""
    return next((text for text in candidates if text.strip()), "")


# --- Labels -----------------------------------------------------------------------------------


def clean_labels(raw: Any, *, field: str, lenient: bool = False) -> dict[str, str]:
    """Validate a sender's labels object and return it as ``dict[str, str]``.

    ``None`` is an empty set of labels. See the module docstring for strict and lenient modes.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PayloadError(
            f"{field} must be an object of string values, not {json_type(raw)}", field=field
        )
    if len(raw) > MAX_LABELS:
        raise PayloadError(
            f"{field} has {len(raw)} labels; at most {MAX_LABELS} are allowed", field=field
        )
    labels = {}
    for key, value in raw.items():
        _check_label_key(key, field=field)
        labels[key] = _clean_label_value(value, field=at(field, key), lenient=lenient)
    return labels


def _check_label_key(key: str, *, field: str) -> None:
    if not key.strip():
        raise PayloadError(f"{field} has an empty label key", field=field)
    if len(key) > MAX_LABEL_KEY_CHARS:
        raise PayloadError(
            f"{field} has a label key of {len(key)} characters ({truncate(key, 40)!r}); "
            f"at most {MAX_LABEL_KEY_CHARS} are allowed",
            field=field,
        )


def _clean_label_value(value: Any, *, field: str, lenient: bool) -> str:
    if lenient and _is_scalar(value):
        value = to_text(value)
    if not isinstance(value, str):
        raise PayloadError(f"{field} must be a string, not {json_type(value)}", field=field)
    if len(value) <= MAX_LABEL_VALUE_CHARS:
        return value
    if lenient:
        return truncate(value, MAX_LABEL_VALUE_CHARS)
    raise PayloadError(
        f"{field} is {len(value)} characters long; "
        f"at most {MAX_LABEL_VALUE_CHARS} are allowed in a label value",
        field=field,
    )


def clean_annotations(raw: Any, *, field: str) -> dict[str, str]:
    """Alertmanager-style annotations as ``dict[str, str]``: an object of strings (numbers and
    booleans rendered as text), with no limit on their number or length."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise PayloadError(
            f"{field} must be an object of string values, not {json_type(raw)}", field=field
        )
    annotations = {}
    for key, value in raw.items():
        text = to_text(value) if _is_scalar(value) else value
        if not isinstance(text, str):
            raise PayloadError(
                f"{at(field, key)} must be a string, not {json_type(value)}", field=at(field, key)
            )
        annotations[key] = text
    return annotations


def merge_extra_labels(
    labels: Mapping[str, str], extra: Mapping[str, str], *, skip: Iterable[str] = ()
) -> dict[str, str]:
    """``labels`` plus those ``extra`` entries that fit: not already a label, not in ``skip``, not
    reserved (``__name__``-style), with a valid key, while fewer than ``MAX_LABELS`` labels are
    set. Values are truncated to ``MAX_LABEL_VALUE_CHARS``. The sender's labels always win."""
    merged = dict(labels)
    skipped = set(skip)
    for key, value in extra.items():
        if len(merged) >= MAX_LABELS:
            break
        if key in merged or key in skipped or key.startswith("__") or not key.strip():
            continue
        if len(key) <= MAX_LABEL_KEY_CHARS:
            merged[key] = truncate(value, MAX_LABEL_VALUE_CHARS)
    return merged


# --- Times ------------------------------------------------------------------------------------


def parse_time(raw: Any, *, field: str) -> datetime | None:
    """An ISO-8601 / RFC 3339 time as an aware ``datetime``.

    Missing, null, empty and Go's zero time (``0001-01-01T00:00:00Z``) mean "not set" and give
    ``None``. A time without an offset is taken as UTC. Fractions finer than microseconds
    (Alertmanager sends nanoseconds) are cut to microseconds.
    """
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise PayloadError(
            f"{field} must be an ISO-8601 time string, not {json_type(raw)}", field=field
        )
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise PayloadError(
            f"{field} is not an ISO-8601 / RFC 3339 time: {truncate(raw, 64)!r}", field=field
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return None if parsed == _ZERO_TIME else parsed


def parse_local_time(raw: Any, *, field: str, tz: tzinfo) -> datetime | None:
    """Like :func:`parse_time`, but a time without an offset is taken in ``tz``: for senders
    that write their own wall-clock time (``"2024-03-29 09:33:00"``, China Standard Time)."""
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise PayloadError(f"{field} must be a time string, not {json_type(raw)}", field=field)
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise PayloadError(
            f"{field} is not a time such as '2024-03-29 09:33:00': {truncate(raw, 64)!r}",
            field=field,
        ) from None
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed


# --- Links and images -------------------------------------------------------------------------


def is_web_url(value: Any) -> bool:
    """Whether ``value`` is an absolute http(s) URL (the only links the console will render)."""
    return isinstance(value, str) and value.strip().lower().startswith(("http://", "https://"))


def optional_link(href: Any, text: str) -> tuple[Link, ...]:
    """A one-link tuple when ``href`` is an http(s) URL, else ``()``: for URLs a sender fills in
    itself (often with ``""``), which are never worth rejecting a payload for."""
    return (Link(href=href.strip(), text=text),) if is_web_url(href) else ()


def _require_url(obj: Mapping[str, Any], key: str, *, field: str) -> str:
    url = get_str(obj, key, field=field, required=True)
    if not is_web_url(url):
        raise PayloadError(
            f"{field} must be an http(s) URL, not {truncate(url, 64)!r}", field=field
        )
    return url.strip()


def parse_links(raw: Any, *, field: str) -> tuple[Link, ...]:
    """An array of ``{"href" (required, http(s)), "text"}`` objects as :class:`Link` s."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PayloadError(f"{field} must be an array, not {json_type(raw)}", field=field)
    links = []
    for index, item in enumerate(raw):
        where = at(field, index)
        entry = require_object(item, where)
        links.append(
            Link(
                href=_require_url(entry, "href", field=at(where, "href")),
                text=get_str(entry, "text", field=at(where, "text")),
            )
        )
    return tuple(links)


def parse_images(raw: Any, *, field: str) -> tuple[Image, ...]:
    """An array of ``{"src" (required, http(s)), "alt", "href"}`` objects as :class:`Image` s."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise PayloadError(f"{field} must be an array, not {json_type(raw)}", field=field)
    images = []
    for index, item in enumerate(raw):
        where = at(field, index)
        entry = require_object(item, where)
        href = get_str(entry, "href", field=at(where, "href"))
        if href:
            href = _require_url(entry, "href", field=at(where, "href"))
        images.append(
            Image(
                src=_require_url(entry, "src", field=at(where, "src")),
                alt=get_str(entry, "alt", field=at(where, "alt")),
                href=href,
            )
        )
    return tuple(images)


# --- Batches ----------------------------------------------------------------------------------


def truncated_alerts(payload: Any) -> int:
    """``truncatedAlerts`` of an Alertmanager-style payload: how many alerts the sender left out
    of the batch (``max_alerts``); 0 when absent or not a non-negative integer."""
    value = payload.get("truncatedAlerts") if isinstance(payload, dict) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(value, 0)


# --- Identities -------------------------------------------------------------------------------

# ``Alert.alert_key``'s column width.
ALERT_KEY_MAX_CHARS = 255


def bounded_alert_key(key: str) -> str:
    """``key`` itself when it fits ``Alert.alert_key`` (255 characters), else its first 200
    characters and a digest of the whole: a sender's identity built from ARNs or ids (an AWS
    alarm ARN, a Security Hub finding) can be longer, and must still be stable and distinct."""
    if len(key) <= ALERT_KEY_MAX_CHARS:
        return key
    return f"{key[:200]}~{stable_key(key)}"


# --- Epoch times and embedded JSON (senders with their own clocks) --------------------------


# Past this many, an "auto" time is taken as milliseconds: 10^11 seconds is the year 5138.
_MILLISECONDS_FROM = 10**11
_EPOCH_DIVISORS = {"s": 1, "ms": 1_000, "ns": 1_000_000_000}


def parse_epoch_time(raw: Any, *, field: str, unit: str = "auto") -> datetime | None:
    """A Unix time (a number, or a string of digits) in ``unit`` ("s", "ms", "ns", or "auto":
    seconds, or milliseconds when too large to be seconds) as an aware UTC ``datetime``.
    Missing, null, empty and 0 give ``None`` (cloud senders send 0 for "not yet", e.g. a
    recovery time while firing)."""
    if raw is None or raw == "":
        return None
    expected = "a Unix time" if unit == "auto" else f"a Unix time in {unit}"
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise PayloadError(
                f"{field} must be {expected}, not {truncate(raw, 40)!r}", field=field
            ) from None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise PayloadError(f"{field} must be {expected}, not {json_type(raw)}", field=field)
    if raw <= 0:
        return None
    if unit == "auto":
        seconds = raw / 1000 if raw >= _MILLISECONDS_FROM else raw
    else:
        seconds = raw / _EPOCH_DIVISORS[unit]
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"{field} is out of range: {raw!r}", field=field) from None


def embedded_json(raw: Any, *, field: str) -> Any:
    """A value some senders send as JSON *text* inside the payload (Alibaba's ``dimensions``,
    Huawei SMN's ``message``): decoded when it is a string, returned as it is otherwise."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        raise PayloadError(
            f"{field} must be JSON text, not {truncate(raw, 64)!r}", field=field
        ) from None


# --- Push URLs --------------------------------------------------------------------------------


def integration_key_url(push_url: str) -> str:
    """``…/push/<token>`` as ``…/push/?integration_key=<token>``: the form senders documented
    with a query-string key (Keep, ElastAlert 2) are set up with. Both forms reach the source."""
    base, _sep, token = push_url.rstrip("/").rpartition("/")
    return f"{base}/?integration_key={token}" if token and base else push_url
