"""Azure Monitor (common alert schema) as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.azure_monitor import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind


class AzureMonitorSource(SourceKind):
    kind = "azure_monitor"
    label = _("Azure Monitor")
    sender = _("Azure Monitor action group, Webhook action with the common alert schema")
    identity = _(
        "data.essentials.alertId; Service Health: subscription + Tracking ID; "
        "Resource Health: the resource"
    )
    recovery = _(
        "monitorCondition Resolved; Service Health stage Resolved/RCA/Complete/Canceled; "
        "Resource Health Available"
    )
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In the Azure portal, open Monitor → Alerts → Action groups → Create."),
                _(
                    "Add an action of type Webhook with the URI {url} and “Enable the common "
                    "alert schema” set to Yes."
                ).format(url=push_url),
                _("Select the action group in the alert rules that should page, and save."),
            ],
        )
