"""The console's own JSON protocol: one alert event per request, a JSON object.

Fields:

* ``event_status`` (required): ``Critical``, ``Warning``, ``Info`` or ``Ok``, in any case.
  ``Ok`` resolves the alert (severity info); the others fire it at that severity.
  ``raw_severity`` is the word as sent.
* ``title_rule``, or ``title`` (one is required, a non-blank string; ``title_rule`` wins): the
  title. ``$name`` and ``${name}`` are replaced by the value of label ``name`` (``""`` when there
  is no such label). A bare ``$name`` is ASCII letters, digits and ``_``; any other label key
  needs braces (``${k8s.pod}``). A ``$`` not followed by a name is kept as it is.
* ``alert_key`` (optional, at most 255 characters): the dedup identity. Without one it is
  :func:`stable_key` of the rendered title and the labels, so a later ``Ok`` with the same title
  and labels resolves the same alert; the response tells the caller the key.
* ``description`` (optional string).
* ``labels`` (optional): an object of strings; at most 50, keys at most 128 characters, values
  at most 2048. Anything else is rejected with the reason (nothing is coerced or truncated: the
  caller can fix its request).
* ``images`` (optional): ``[{"src" (required), "alt", "href"}]``; ``links`` (optional):
  ``[{"href" (required), "text"}]``; every URL must be http(s).
"""

from __future__ import annotations

import re
from typing import Any

from integrations.sources.common import (
    clean_labels,
    get_str,
    map_severity,
    parse_images,
    parse_links,
    require_object,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    stable_key,
)

MAX_ALERT_KEY_CHARS = 255
EVENT_STATUSES = ("critical", "warning", "info", "ok")

_PLACEHOLDER = re.compile(r"\$\{([^{}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a standard-protocol request (see the module docstring)."""
    body = require_object(payload, None)
    status = _event_status(body)
    labels = clean_labels(body.get("labels"), field="labels")
    title = _title(body, labels)
    alert_key = get_str(body, "alert_key", field="alert_key", max_chars=MAX_ALERT_KEY_CHARS)
    return [
        AlertEvent(
            alert_key=alert_key.strip() or stable_key(title, labels),
            kind=EventKind.RESOLVED if status.lower() == "ok" else EventKind.FIRING,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=map_severity(status),
            raw_severity=status,
            description=truncate(
                get_str(body, "description", field="description"), MAX_DESCRIPTION_CHARS
            ),
            labels=labels,
            links=parse_links(body.get("links"), field="links"),
            images=parse_images(body.get("images"), field="images"),
        )
    ]


def render_title(rule: str, labels: dict[str, str]) -> str:
    """``rule`` with each ``$name`` / ``${name}`` replaced by that label's value (or ``""``)."""
    return _PLACEHOLDER.sub(lambda m: labels.get(m.group(1) or m.group(2), ""), rule)


def _event_status(body: dict[str, Any]) -> str:
    status = get_str(body, "event_status", field="event_status", required=True).strip()
    if status.lower() not in EVENT_STATUSES:
        raise PayloadError(
            "event_status must be one of Critical, Warning, Info or Ok, "
            f"not {truncate(status, 40)!r}",
            field="event_status",
        )
    return status


def _title(body: dict[str, Any], labels: dict[str, str]) -> str:
    key = "title_rule" if body.get("title_rule") is not None else "title"
    if body.get(key) is None:
        raise PayloadError("title_rule (or title) is required", field="title_rule")
    title = render_title(get_str(body, key, field=key, required=True), labels)
    if not title.strip():
        raise PayloadError(
            f"{key} renders to an empty title with these labels; "
            "name a label that is set, or add text",
            field=key,
        )
    return title
