"""ZStack Cloud alarms, sent by a Cloud Monitoring Webhook endpoint, as an alert source; the
parser is in ``parser.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.zstack import parser
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind


class ZStackSource(SourceKind):
    kind = "zstack"
    label = "ZStack"
    sender = _("ZStack Cloud Monitoring Webhook endpoint (resource and event alarms)")
    identity = _("alarmUuid (event alarms: subscriptionUuid and eventName) and resourceUuid")
    recovery = _("alarmStatus OK (resource alarms only)")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        # "Send Test Message" must succeed without opening an incident.
        if parser.is_test_message(payload):
            return Answer(200, {"test": "received"})
        return None

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the ZStack console open Platform O&M → Cloud Monitoring → Endpoint and "
                    "create an endpoint named Flashduty of type Webhook with the URL {url}."
                ).format(url=push_url),
                _('Click "Send Test Message": it succeeds without opening an incident.'),
                _(
                    "Under Alarm, create or edit resource alarms (they also report recovery) or "
                    "event alarms, and pick the Flashduty endpoint."
                ),
            ],
            snippets=[],
        )
