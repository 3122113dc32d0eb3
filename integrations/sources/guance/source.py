"""Guance (观测云) alert events, sent by a Webhook notification target, as an alert source; the
parser is in ``parser.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.guance import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind


class GuanceSource(SourceKind):
    kind = "guance"
    label = _("Guance")
    sender = _("Guance Webhook notification target")
    identity = _("df_monitor_checker_event_ref (else the checker and its dimension tags)")
    recovery = _("df_status ok")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the Guance console open Monitoring → Notification Targets, create a "
                    "Webhook target named Flashduty with the webhook URL {url}."
                ).format(url=push_url),
                _(
                    "In Monitoring → Alert Strategies, edit or create a strategy and, in its "
                    "notification settings, pick the severities to send and that target."
                ),
                _('Include "ok" among the statuses so that recoveries resolve alerts.'),
            ],
            snippets=[],
        )
