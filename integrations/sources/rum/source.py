"""Real user monitoring Issue alerts as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.rum import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind, curl_snippet

_EXAMPLE = {
    "event": "issue.new",
    "application": {"name": "shop-web"},
    "env": "production",
    "issue": {"id": "iss_1", "title": "TypeError in cart", "type": "error", "priority": "P1"},
}


class RUMSource(SourceKind):
    kind = "rum"
    label = _("RUM (real user monitoring) issues")
    sender = _("a RUM tool or relay posting Issue events (the shape in the README)")
    identity = _("the Issue's id")
    recovery = _("the Issue is closed (event issue.closed)")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "Post one JSON object per Issue event (new, updated, reopened, priority "
                    "upgraded, closed) to {url}; the fields are listed in this kind's README."
                ).format(url=push_url),
                _(
                    "Give the Issue's priority (P0, P1, P2) to set the severity; without one, "
                    "crashes are critical and Issues older than 7 days info."
                ),
            ],
            snippets=[curl_snippet(push_url, json.dumps(_EXAMPLE))],
        )
