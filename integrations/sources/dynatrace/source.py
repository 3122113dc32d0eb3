"""Dynatrace problem notifications (custom integration) as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.dynatrace import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class DynatraceSource(SourceKind):
    kind = "dynatrace"
    label = "Dynatrace"
    sender = _("Dynatrace problem notification, Custom Integration (payload template below)")
    identity = _("PID (the problem's id)")
    recovery = _("State RESOLVED, CLOSED or MERGED")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In Dynatrace, open Settings → Integration → Problem notifications."),
                _("Add a notification of type Custom Integration named after this console."),
                _("Webhook URL: {url}; keep “Call webhook if problem is closed” on.").format(
                    url=push_url
                ),
                _("Paste the payload below into Custom payload and save."),
            ],
            snippets=[Snippet(_("Custom payload"), "json", parser.PAYLOAD_TEMPLATE)],
        )
