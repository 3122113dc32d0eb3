"""Volcengine Log Service (TLS) alarms as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.volc_tls import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, Snippet, SourceKind

# TLS fills in its template variables; ``toJson(...)|safe`` writes a value as JSON.
CONTENT_TEMPLATE = """{
  "AlarmID": "{{AlarmID}}",
  "Alarm": "{{Alarm}}",
  "Severity": "{{Severity}}",
  "NotifyType": "{{NotifyType}}",
  "NotifyTimeUnix": "{{NotifyTimeUnix}}",
  "Condition": "{{Condition}}",
  "TriggerParams": {{toJson(TriggerParams)|safe}},
  "FireResultsCount": "{{FireResultsCount}}",
  "DetailUrl": "{{DetailUrl}}",
  "ProjectName": "{{ProjectName}}",
  "AlarmTopicName": "{{AlarmTopicName}}",
  "Topics": "{{Topics|join:','}}",
  "Region": "{{Region}}",
  "AccountID": "{{AccountID}}"
}"""


class VolcTlsSource(SourceKind):
    kind = "volc_tls"
    label = _("Volcengine Log Service (TLS)")
    sender = _(
        "TLS alarm policy, notification group with a custom webhook (template in the set-up guide)"
    )
    identity = _("`AlarmID` (the alarm policy)")
    recovery = _("`NotifyType` 2")
    severity_table = (
        ("critical", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
    )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In the TLS console, open Alarm → Notification Management and create a "
                    "webhook alarm integration: custom webhook, method POST, URL {url}."
                ).format(url=push_url),
                _(
                    "Create a content template whose custom-webhook content is the template "
                    "below, and a notification group using that webhook and that template."
                ),
                _("Associate the notification group with each alarm policy, under Alarm Policies."),
            ),
            snippets=(Snippet(str(_("Content template")), "json", CONTENT_TEMPLATE),),
        )
