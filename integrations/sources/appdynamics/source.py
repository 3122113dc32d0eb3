"""AppDynamics (HTTP request template) as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.appdynamics import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class AppDynamicsSource(SourceKind):
    kind = "appdynamics"
    label = "AppDynamics"
    sender = _("AppDynamics HTTP request template (payload below) used by a policy's action")
    identity = _("incident_id (the health-rule violation), else details.event_id")
    recovery = _("details.event_type is a _CLOSE_ or _CANCELED_ event")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In AppDynamics, open Alert & Respond → HTTP Request Templates → New."),
                _("Method POST, Raw URL: {url}").format(url=push_url),
                _("Payload: MIME type application/json, UTF-8; paste the payload below."),
                _("Response handling: success on 200, failure on 400; save."),
                _(
                    "Create an action “Make an HTTP Request” with this template and add it to "
                    "the policies that should page, for both opening and closing events."
                ),
            ],
            snippets=[Snippet(_("Payload"), "json", parser.PAYLOAD_TEMPLATE)],
        )
