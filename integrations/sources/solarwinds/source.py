"""SolarWinds Platform (Orion) alerts, through an HTTP POST action, as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.solarwinds import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class SolarWindsSource(SourceKind):
    kind = "solarwinds"
    label = "SolarWinds"
    sender = _(
        "SolarWinds Platform (Orion) alert action “Send a GET or POST Request” (bodies below)"
    )
    identity = _("AlertID and ObjectID (the alert definition on one object)")
    recovery = _("Status reset (the reset action's body)")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In SolarWinds, open Alerts & Activity → Alerts → Manage Alerts; edit an alert."),
                _(
                    "Trigger Actions: add “Send a GET or POST Request to a Web Server”, POST to "
                    "{url}, content type application/json, with the trigger body below."
                ).format(url=push_url),
                _(
                    "Reset Actions: add the same action with the reset body below, so that the "
                    "alert resolves here when SolarWinds resets it."
                ),
            ],
            snippets=[
                Snippet(_("Trigger action body"), "json", parser.TRIGGER_TEMPLATE),
                Snippet(_("Reset action body"), "json", parser.RESET_TEMPLATE),
            ],
        )
