"""The custom change event protocol as a change source (the parser is in ``parser.py``)."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.change_custom import parser
from oncall.change_events import ChangeRecord, ChangeSourceKind
from oncall.sources import SetupGuide, curl_snippet

EXAMPLE = {
    "change_key": "DEPLOY-2041",
    "change_status": "Processing",
    "title": "Deploy checkout-api v3.14.0 to prod-eu",
    "description": "Rolling update, canary 10% first.",
    "link": "https://deploy.example.com/releases/2041",
    "labels": {"service": "checkout-api", "cluster": "prod-eu-1", "team": "payments"},
}


class CustomChangeSource(ChangeSourceKind):
    kind = "change_custom"
    label = _("Custom change event")
    sender = _(
        "your deployment scripts, CI/CD pipelines and change tickets, in the console's change "
        "protocol (a change, never an incident)"
    )
    identity = _("`change_key` (events with the same key update one change)")
    recovery = _("none: a change opens no incident; `change_status` Done or Canceled ends it")

    def recognises(self, payload: Any) -> bool:
        return isinstance(payload, dict) and "change_key" in payload and "change_status" in payload

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            [
                str(
                    _(
                        "From your deployment tool or pipeline, POST one JSON object per change "
                        "event to the push URL: {url}"
                    ).format(url=push_url)
                ),
                str(
                    _(
                        "Send change_key, change_status (Planned, Ready, Processing, Canceled or "
                        "Done) and title; optionally event_time (Unix seconds), description, "
                        "link and labels. The same change_key again updates the change."
                    )
                ),
                str(
                    _(
                        "Give labels such as service, cluster, team and owner: an incident shows "
                        "the changes of its channel and those whose service label its alerts "
                        "carry, from the hour before it opened."
                    )
                ),
            ],
            [curl_snippet(push_url, json.dumps(EXAMPLE, ensure_ascii=False))],
        )

    def parse_changes(self, payload: Any) -> list[ChangeRecord]:
        return parser.parse(payload)
