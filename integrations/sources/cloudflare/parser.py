"""Cloudflare notifications sent to a generic webhook destination. Cloudflare's body: ``name``
and ``policy_name`` (the notification policy), ``text`` (the message, values filled in),
``data`` (fields of that alert type), ``ts`` (Unix seconds), ``account_id``, ``policy_id``,
``alert_type`` (such as ``http_alert_origin_error``), and, for alerts that start and end,
``alert_correlation_id`` and ``alert_event`` (``ALERT_STATE_EVENT_START`` / ``_END``).

* ``alert_key``: ``cloudflare:<alert_correlation_id>`` (it ties an alert's start to its end);
  without one, ``cloudflare:<policy_id>:<alert_type>`` so that repeats of one policy's
  one-shot notifications merge. ``alert_type`` is required.
* ``kind``: ``alert_event`` ``ALERT_STATE_EVENT_END`` resolves; anything else fires.
* ``severity``: warning, always (the knowledge base: Cloudflare has no severity; a source's
  severity overrides may remap by ``alert_type``). ``raw_severity`` is ``alert_type``.
* ``title``: ``policy_name`` (else ``name``), then ``: <alert_type>``; ``description``: ``text``.
* ``labels``: ``alert_type``, ``account_id``, ``policy_id``, ``policy_name``, then the
  scalar fields of ``data`` that fit (lists joined by commas).
* ``starts_at`` / ``ends_at``: ``ts``.

A body with a ``text`` and no ``alert_type`` is the test message Cloudflare posts when the
destination is saved (:func:`is_test_message`): answered without storing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.common import (
    bounded_alert_key,
    clean_labels,
    get_str,
    json_type,
    merge_extra_labels,
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

# The knowledge base: every Cloudflare notification is a warning.
SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = ((_("any `alert_type`"), Severity.WARNING),)
END_EVENT = "ALERT_STATE_EVENT_END"
_TEST_MESSAGE_KEYS = {"name", "text", "ts", "data", "account_id", "policy_id", "policy_name"}


def recognises(payload: Any) -> bool:
    return isinstance(payload, dict) and "alert_type" in payload and "policy_id" in payload


def is_test_message(payload: Any) -> bool:
    """Cloudflare's "Save and Test" message: a ``text`` and none of an alert's fields."""
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("text"), str)
        and set(payload) <= _TEST_MESSAGE_KEYS
        and not payload.get("policy_id")
    )


def parse(payload: Any) -> list[AlertEvent]:
    body = require_object(payload, None)
    alert_type = get_str(body, "alert_type", field="alert_type", required=True).strip()
    ending = get_str(body, "alert_event", field="alert_event").strip().upper() == END_EVENT
    at_time = _timestamp(body)
    policy = _text(body, "policy_name") or _text(body, "name")
    return [
        AlertEvent(
            alert_key=bounded_alert_key(_key(body, alert_type)),
            kind=EventKind.RESOLVED if ending else EventKind.FIRING,
            title=truncate(f"{policy}: {alert_type}" if policy else alert_type, MAX_TITLE_CHARS),
            severity=Severity.WARNING,
            raw_severity=alert_type,
            description=truncate(_text(body, "text"), MAX_DESCRIPTION_CHARS),
            labels=_labels(body, alert_type, policy),
            starts_at=None if ending else at_time,
            ends_at=at_time if ending else None,
        )
    ]


def _text(body: dict[str, Any], key: str) -> str:
    return get_str(body, key, field=key).strip()


def _key(body: dict[str, Any], alert_type: str) -> str:
    correlation = _text(body, "alert_correlation_id")
    if correlation:
        return f"cloudflare:{correlation}"
    return f"cloudflare:{_text(body, 'policy_id') or _text(body, 'name')}:{alert_type}"


def _timestamp(body: dict[str, Any]) -> datetime | None:
    value = body.get("ts")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadError(f"ts must be a Unix time in seconds, not {json_type(value)}", field="ts")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise PayloadError(f"ts is not a usable Unix time: {value!r}", field="ts") from None


def _labels(body: dict[str, Any], alert_type: str, policy: str) -> dict[str, str]:
    own = {
        "alert_type": alert_type,
        "account_id": _text(body, "account_id"),
        "policy_id": _text(body, "policy_id"),
        "policy_name": policy,
    }
    labels = clean_labels({k: v for k, v in own.items() if v}, field="labels", lenient=True)
    data = optional_object(body, "data", field="data")
    return merge_extra_labels(labels, _flat(data))


def _flat(data: dict[str, Any]) -> dict[str, str]:
    # Nested objects would make unreadable labels; lists of words are common (zones, pools).
    flat = {}
    for key, value in data.items():
        if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
            flat[key] = ", ".join(to_text(v) for v in value)
        elif not isinstance(value, dict | list) and value is not None:
            flat[key] = to_text(value)
    return flat
