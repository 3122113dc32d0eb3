"""The console's own JSON protocol as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.standard import parser
from oncall.events import AcceptResult, AlertEvent, Severity
from oncall.sources import Answer, SetupGuide, SourceKind, curl_snippet

EXAMPLE = {
    "event_status": "Warning",
    "title_rule": "Disk 90% full on $host",
    "alert_key": "disk-db-1",
    "description": "/var is 90% full",
    "labels": {"host": "db-1", "service": "postgres"},
}


class StandardSource(SourceKind):
    kind = "standard"
    label = _("Standard alert event")
    sender = _("anything that can POST the console's JSON protocol (scripts, cron jobs, your code)")
    identity = _("`alert_key`, or derived from the title and labels")
    recovery = _("`event_status` `Ok`")
    severity_table = (
        ("Critical", Severity.CRITICAL),
        ("Warning", Severity.WARNING),
        ("Info", Severity.INFO),
    )

    def recognises(self, payload: Any) -> bool:
        return (
            isinstance(payload, dict)
            and "event_status" in payload
            and ("title_rule" in payload or "title" in payload)
        )

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            [
                str(
                    _("POST one JSON object per event to the push URL: {url}").format(url=push_url)
                ),
                str(
                    _(
                        "Send the same alert_key again to update the alert, and event_status "
                        "Ok to recover it (the README lists every field)."
                    )
                ),
            ],
            [curl_snippet(push_url, json.dumps(EXAMPLE, ensure_ascii=False))],
        )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def accepted_answer(self, result: AcceptResult) -> Answer:
        """200 with the alert's key, so a caller that sent none can resolve it later.

        ``accepted`` counts routed events, as the console's default answer does: an event that
        matched no route is listed in ``unrouted`` instead."""
        return Answer(
            200,
            {
                "request_id": result.request_id,
                "alert_key": result.events[0].alert_key if result.events else None,
                "accepted": len(result.events) - len(result.unrouted),
                "unrouted": list(result.unrouted),
                "notes": list(result.notes),
            },
        )
