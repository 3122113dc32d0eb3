"""The console's own JSON protocol as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from integrations.sources.standard import parser
from oncall.events import AcceptResult, AlertEvent
from oncall.sources import Answer, SourceKind


class StandardSource(SourceKind):
    kind = "standard"
    label = "Standard alert event"

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
