"""Volcengine Cloud Monitor event alarms as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.volc_cm_event import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, SourceKind


class VolcCmEventSource(SourceKind):
    kind = "volc_cm_event"
    label = _("Volcengine Cloud Monitor events")
    sender = _("Cloud Monitor Event Center rule with an alert callback to a general callback URL")
    identity = _("`Source`, `EventType` and the resource (`Details.subject` or `volcresourcename`)")
    recovery = _("none: Volcengine sends no recovery for an event (close it, or auto-close)")
    severity_table = (
        ("critical", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("notice", Severity.INFO),
    )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In Volcengine Cloud Monitor, open Notification Groups → Callback and create a "
                    "general callback URL {url} (its connectivity test may fail; alarms still "
                    "arrive)."
                ).format(url=push_url),
                _(
                    "In Event Center → Event Rules, create or edit a rule and tick alert callback "
                    "under its delivery channels, choosing that callback."
                ),
            ),
            snippets=(),
        )
