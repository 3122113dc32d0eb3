"""Huawei Cloud APM application-monitoring alarms, published to an SMN topic (APM's
notification configuration) and delivered to an HTTPS subscription. The envelope is read by
:mod:`integrations.sources.huawei_ces.smn`; the message is the alarm policy's *notification
content*, which the user writes: the knowledge base asks for ``key:value`` lines
(``host:${hostInfo}``), and the parser reads them so.

Field mapping
    * pairs: every ``key:value`` (also with a full-width colon, or ``key=value``) line or
      ``;``-separated part of the message; a JSON message gives its scalar fields instead.
      Other lines make the description.
    * severity: the pair ``level`` / ``alarmLevel`` / ``severity`` / 告警级别, else the first of
      the knowledge base's words found in the subject or message, through its table
      (``CRITICAL`` critical, ``COMMON`` info; 严重 and 轻微 are the same); else warning.
    * kind: resolved when the pair ``status`` / ``alarmStatus`` / 告警状态 says ok, resolved,
      recovered, cleared, normal or 恢复 / 已恢复, or the subject says it recovered; firing
      otherwise.
    * alert_key: :func:`stable_key` of the identifying pairs (policy, application, host,
      instance, metric, in any of the usual spellings); without any, of the subject with its
      status words removed.
    * title: the SMN subject, else the message's first line.
    * labels: the pairs (values truncated; at most the label limit).
"""

from __future__ import annotations

import re
from typing import Any

from integrations.sources.common import (
    first_nonblank,
    json_type,
    merge_extra_labels,
    severity_from_table,
    to_text,
    truncate,
)
from integrations.sources.huawei_ces import smn
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
    stable_key,
)

SEVERITY_TABLE: tuple[tuple[str, Severity], ...] = (
    ("CRITICAL", Severity.CRITICAL),
    ("COMMON", Severity.INFO),
)
LEVEL_ALIASES = {"严重": "CRITICAL", "严重告警": "CRITICAL", "轻微": "COMMON", "轻微告警": "COMMON"}
LEVEL_KEYS = frozenset({"level", "alarmlevel", "alarm_level", "severity", "告警级别"})
STATUS_KEYS = frozenset({"status", "alarmstatus", "alarm_status", "告警状态"})
RESOLVED_WORDS = frozenset(
    {"ok", "resolved", "recovered", "cleared", "normal", "恢复", "已恢复", "告警恢复"}
)
IDENTITY_KEYS = frozenset(
    {
        "policy",
        "policyname",
        "alarmpolicy",
        "告警策略",
        "app",
        "application",
        "应用",
        "host",
        "hostinfo",
        "主机",
        "instance",
        "实例",
        "metric",
        "指标",
    }
)
# \uff1a is the full-width colon Chinese text uses; \uff1b the full-width semicolon.
# A key has no blanks, so that a sentence with a colon stays in the description.
_PAIR = re.compile(r"^\s*([^:\uff1a=\s]{1,128})\s*[:\uff1a=]\s*(.*?)\s*$")
_RECOVERED_SUBJECT = re.compile(
    r"\b(?:recovered|recovery|recover|resolved|cleared)\b|告警恢复|已恢复|恢复", re.IGNORECASE
)


def parse(payload: Any) -> list[AlertEvent]:
    """The alarm of one SMN notification (see the module docstring)."""
    message, subject = smn.message_of(payload)
    if isinstance(message, dict):
        pairs = {k: to_text(v).strip() for k, v in message.items() if _is_scalar(v)}
        text = ""
    elif isinstance(message, str):
        pairs, text = _read_text(message)
    else:
        raise PayloadError(
            f"message must be the alarm's notification text, not {json_type(message)}",
            field="message",
        )
    title = first_nonblank(subject, text.splitlines()[0] if text else "", *pairs.values())
    if not title:
        raise PayloadError("message is empty: there is no alarm to read", field="message")
    raw_severity = _raw_severity(pairs, f"{subject}\n{message}")
    return [
        AlertEvent(
            alert_key=_key(pairs, subject or title),
            kind=_kind(pairs, subject),
            title=truncate(title.strip(), MAX_TITLE_CHARS),
            severity=severity_from_table(
                LEVEL_ALIASES.get(raw_severity, raw_severity), SEVERITY_TABLE
            ),
            raw_severity=raw_severity,
            description=truncate(text.strip(), MAX_DESCRIPTION_CHARS),
            labels=merge_extra_labels({}, pairs),
        )
    ]


def recognises(payload: Any) -> bool:
    """An SMN notification about APM whose message is text (the notification content)."""
    if not smn.is_envelope(payload) or payload.get("type") != "Notification":
        return False
    message, subject = payload.get("message"), payload.get("subject")
    return (
        isinstance(message, str)
        and not message.lstrip().startswith("{")
        and "APM" in f"{subject} {message}"
    )


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _read_text(message: str) -> tuple[dict[str, str], str]:
    """The ``key:value`` pairs of the notification text, and the lines that are not pairs."""
    pairs: dict[str, str] = {}
    rest = []
    for line in message.splitlines():
        parts = [part for part in re.split(r"[;\uff1b]", line) if part.strip()]
        found = [_PAIR.match(part) for part in parts]
        if parts and all(found):
            pairs |= {match.group(1).strip(): match.group(2) for match in found if match}
        elif line.strip():
            rest.append(line.strip())
    return pairs, "\n".join(rest)


def _lookup(pairs: dict[str, str], keys: frozenset[str]) -> str:
    return next((value for key, value in pairs.items() if key.lower() in keys), "")


def _raw_severity(pairs: dict[str, str], text: Any) -> str:
    level = _lookup(pairs, LEVEL_KEYS)
    if level:
        return level
    words = [*(word for word, _ in SEVERITY_TABLE), *LEVEL_ALIASES]
    found = [(str(text).find(word), word) for word in words if word in str(text)]
    return min(found)[1] if found else ""


def _kind(pairs: dict[str, str], subject: str) -> EventKind:
    status = _lookup(pairs, STATUS_KEYS).lower()
    if status in RESOLVED_WORDS or (not status and _RECOVERED_SUBJECT.search(subject)):
        return EventKind.RESOLVED
    return EventKind.FIRING


def _key(pairs: dict[str, str], subject: str) -> str:
    identity = sorted((k.lower(), v) for k, v in pairs.items() if k.lower() in IDENTITY_KEYS)
    if identity:
        return stable_key("huawei_apm", identity)
    # Without identifying pairs, the subject without its state words names the alarm.
    return stable_key("huawei_apm", " ".join(_RECOVERED_SUBJECT.sub(" ", subject).split()))
