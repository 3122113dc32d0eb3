"""What the console's Monit script (``monit-to-oncall.sh``) posts: form fields.

Monit has no webhook: a check's ``exec`` action runs a program with the event in environment
variables (``MONIT_SERVICE``, ``MONIT_EVENT``, ``MONIT_DESCRIPTION``, ``MONIT_HOST``,
``MONIT_DATE``). The console's script sends them, with the state and severity it is given as
arguments, as ``monit_*`` form fields (a JSON object with the same keys is read too).

* ``alert_key``: :func:`stable_key` of ``monit_host`` and ``monit_service``: one alert per
  checked service (process, file, host, ...) of one Monit.
* ``kind``: ``monit_state`` ``recovery`` resolves (the check's ``else if succeeded`` action);
  ``problem`` (or none) fires; anything else is a ``PayloadError``.
* ``severity``: ``monit_severity`` (the script's second argument): critical, warning, info;
  anything else critical (a Monit action is usually a page).
* ``title``: "<service> on <host>: <event>". ``description``: ``monit_description`` and
  ``monit_date`` as Monit wrote it (its date is local text, not read as a time).
* ``labels``: ``host``, ``service`` and ``event``.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    get_str,
    require_object,
    severity_from_table,
    truncate,
)
from oncall.events import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_VALUE_CHARS,
    MAX_TITLE_CHARS,
    AlertEvent,
    EventKind,
    PayloadError,
    Severity,
    stable_key,
)

SEVERITY_TABLE = (
    ("critical", Severity.CRITICAL),
    ("warning", Severity.WARNING),
    ("info", Severity.INFO),
)
_KINDS = {"problem": EventKind.FIRING, "recovery": EventKind.RESOLVED}


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of a script post (see the module docstring)."""
    fields = require_object(payload, None)
    service = get_str(fields, "monit_service", field="monit_service", required=True).strip()
    host = get_str(fields, "monit_host", field="monit_host").strip()
    event = get_str(fields, "monit_event", field="monit_event").strip()
    severity = get_str(fields, "monit_severity", field="monit_severity").strip()
    title = f"{service} on {host}" if host else service
    labels = {"host": host, "service": service, "event": event}
    return [
        AlertEvent(
            alert_key=stable_key("monit", host, service),
            kind=_kind(fields),
            title=truncate(f"{title}: {event}" if event else title, MAX_TITLE_CHARS),
            severity=severity_from_table(severity, SEVERITY_TABLE, Severity.CRITICAL),
            raw_severity=severity,
            description=truncate(_description(fields), MAX_DESCRIPTION_CHARS),
            labels={k: truncate(v, MAX_LABEL_VALUE_CHARS) for k, v in labels.items() if v},
        )
    ]


def recognises(payload: Any) -> bool:
    """The script's fields: ``monit_service`` and ``monit_state``."""
    return isinstance(payload, dict) and {"monit_service", "monit_state"} <= payload.keys()


def _kind(fields: dict[str, Any]) -> EventKind:
    state = get_str(fields, "monit_state", field="monit_state").strip().lower() or "problem"
    try:
        return _KINDS[state]
    except KeyError:
        raise PayloadError(
            f"monit_state must be problem or recovery, not {truncate(state, 40)!r}",
            field="monit_state",
        ) from None


def _description(fields: dict[str, Any]) -> str:
    text = get_str(fields, "monit_description", field="monit_description").strip()
    when = get_str(fields, "monit_date", field="monit_date").strip()
    return "\n".join(part for part in (text, f"Monit date: {when}" if when else "") if part)
