"""Google Cloud Monitoring (webhook notification channel) as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.gcp_monitoring import parser
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind


class GcpMonitoringSource(SourceKind):
    kind = "gcp_monitoring"
    label = _("Google Cloud Monitoring")
    sender = _("Google Cloud Monitoring alerting policy, Webhook notification channel")
    identity = _("incident.incident_id")
    recovery = _("incident.state closed (“Notify on incident closure”)")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        if parser.is_test_connection(payload):
            return Answer(200, {"ok": True, "message": "Test connection received."})
        return None

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In Google Cloud, open Monitoring → Alerting → Edit notification channels."),
                _(
                    "Under Webhooks, Add new: Endpoint URL {url}, display name of your choice."
                ).format(url=push_url),
                _("Test connection (answered, not stored), then save."),
                _(
                    "In each alerting policy, select this channel and tick “Notify on incident "
                    "closure”, so that alerts resolve here."
                ),
            ],
            snippets=[],
        )
