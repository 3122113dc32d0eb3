"""ElastAlert 2's alerts, from its ``post2`` (HTTP POST 2) or ``flashduty`` alerter.

``post2`` posts the body the set-up's rule snippet (:data:`RULE_SNIPPET`) defines, in
ElastAlert's words: ``elastalert_rule`` (the rule's name), ``alert_subject``, ``alert_status``,
``alert_text``, ``alert_key``, ``labels``, the values templated with the match's fields (Jinja).
The ``flashduty`` alerter (ElastAlert 2.19+ with ``flashduty_url``) posts the knowledge base's
fields: ``title``, ``event_status``, ``description``, ``alert_key`` and its fixed labels
``check``, ``service``, ``cluster``, ``resource``, ``metric``, ``group``, ``env``, ``app``
(``null`` when unset) and ``information`` (the alert text). Both are read:

* ``kind``: ``alert_status`` / ``event_status`` ``Ok`` resolves; ``Critical``, ``Warning``,
  ``Info`` fire (any case; anything else is a ``PayloadError``).
* ``severity``: that status by the knowledge base's table: Critical, Warning, Info.
* ``alert_key``: ``alert_key``; without one (the alerter sends ``null``), :func:`stable_key` of
  the rule (``elastalert_rule``, else the title) and the labels, so ElastAlert's repeats
  (``realert``) merge into one alert.
* ``title``: ``alert_subject`` / ``title``, else ``elastalert_rule``; one is required.
* ``description``: ``alert_text`` / ``description``, else the ``information`` label.
* ``labels``: ``labels`` without ``null`` values and without ``information`` (a match's text
  changes every time, and labels are what routes match on); numbers become text.
"""

from __future__ import annotations

from typing import Any

from integrations.sources.common import (
    clean_labels,
    first_nonblank,
    get_str,
    json_type,
    require_object,
    severity_from_table,
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
RECOVERY = "Ok"
MAX_ALERT_KEY_CHARS = 255
TEXT_LABEL = "information"
RULE_SNIPPET = """\
alert:
  - post2
http_post2_url: "{push_url}"
http_post2_payload:
  elastalert_rule: "Nginx 5xx burst"      # this rule's name
  alert_subject: "Nginx 5xx burst on {{{{ host.name }}}}"
  alert_status: "Warning"                 # Critical, Warning or Info
  alert_text: "{{{{ message }}}}"
  labels:
    host: "{{{{ host.name }}}}"
    service: "nginx"
"""
_STATUSES = {name.lower(): name for name, _severity in (*SEVERITY_TABLE, (RECOVERY, None))}


def parse(payload: Any) -> list[AlertEvent]:
    """The one event of an ElastAlert 2 post (see the module docstring)."""
    body = require_object(payload, None)
    status = _status(body)
    rule = get_str(body, "elastalert_rule", field="elastalert_rule").strip()
    title = first_nonblank(_either(body, "alert_subject", "title"), rule).strip()
    if not title:
        raise PayloadError(
            "alert_subject (or title, or elastalert_rule) is required", field="alert_subject"
        )
    raw_labels = _raw_labels(body)
    text = raw_labels.pop(TEXT_LABEL, None)
    labels = clean_labels(raw_labels, field="labels", lenient=True)
    description = first_nonblank(
        _either(body, "alert_text", "description"), text if isinstance(text, str) else ""
    )
    return [
        AlertEvent(
            alert_key=_key(body, rule or title, labels),
            kind=EventKind.RESOLVED if status == RECOVERY else EventKind.FIRING,
            title=truncate(title, MAX_TITLE_CHARS),
            severity=severity_from_table(status, SEVERITY_TABLE, Severity.INFO),
            raw_severity=status,
            description=truncate(description.strip(), MAX_DESCRIPTION_CHARS),
            labels=labels,
        )
    ]


def recognises(payload: Any) -> bool:
    """The ``post2`` body of the set-up: ``elastalert_rule`` and ``alert_status``. (The
    ``flashduty`` alerter's body is the standard protocol, which the ``standard`` kind
    recognises.)"""
    return isinstance(payload, dict) and {"elastalert_rule", "alert_status"} <= payload.keys()


def _either(body: dict[str, Any], post2_key: str, alerter_key: str) -> str:
    # The post2 snippet's name first, else the flashduty alerter's.
    return first_nonblank(
        get_str(body, post2_key, field=post2_key), get_str(body, alerter_key, field=alerter_key)
    )


def _status(body: dict[str, Any]) -> str:
    field = "alert_status" if "alert_status" in body else "event_status"
    status = get_str(body, field, field=field, required=True).strip()
    try:
        return _STATUSES[status.lower()]
    except KeyError:
        raise PayloadError(
            f"{field} must be Critical, Warning, Info or Ok, not {truncate(status, 40)!r}",
            field=field,
        ) from None


def _raw_labels(body: dict[str, Any]) -> dict[str, Any]:
    labels = body.get("labels")
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise PayloadError(
            f"labels must be an object of string values, not {json_type(labels)}", field="labels"
        )
    return {key: value for key, value in labels.items() if value is not None}


def _key(body: dict[str, Any], rule: str, labels: dict[str, str]) -> str:
    key = get_str(body, "alert_key", field="alert_key", max_chars=MAX_ALERT_KEY_CHARS).strip()
    return key or stable_key("elastalert2", rule, sorted(labels.items()))
