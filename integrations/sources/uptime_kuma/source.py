"""Uptime Kuma as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from integrations.sources.uptime_kuma import parser
from oncall.events import AlertEvent
from oncall.sources import (
    Answer,
    DeclaredOption,
    OptionType,
    PushRequest,
    SetupGuide,
    SourceKind,
    curl_snippet,
)

_SEVERITIES = [name for name, _severity in parser.SEVERITY_TABLE]
# What the Webhook type posts for a monitor going down, trimmed to the fields that are read.
_EXAMPLE = {
    "heartbeat": {"monitorID": 1, "status": 0, "msg": "Connection refused"},
    "monitor": {"id": 1, "name": "Example", "type": "http", "url": "https://example.org"},
    "msg": "[Example] [Down] Connection refused",
}


class UptimeKumaSource(SourceKind):
    kind = "uptime_kuma"
    label = "Uptime Kuma"
    sender = _("Uptime Kuma's Webhook notification (or its FlashDuty type)")
    identity = _("the monitor's id")
    recovery = _("the monitor is up again (heartbeat status 1)")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        severity = push.options.get("severity") or parser.DEFAULT_SEVERITY
        return parser.parse(payload, severity=severity)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        # The notification's "Test" button posts a message without a heartbeat.
        if isinstance(payload, dict) and "heartbeat" in payload and not payload["heartbeat"]:
            return Answer(200, {"accepted": 0, "notes": ["Uptime Kuma test message received"]})
        return None

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def default_options(self) -> dict:
        return {"severity": parser.DEFAULT_SEVERITY}

    def clean_options(self, options: dict) -> dict:
        unknown = set(options) - {"severity"}
        if unknown:
            raise ValidationError(
                _("Unknown option(s): %(names)s."), params={"names": ", ".join(sorted(unknown))}
            )
        severity = options.get("severity", parser.DEFAULT_SEVERITY)
        if severity not in _SEVERITIES:
            raise ValidationError(
                _("severity must be one of %(choices)s."),
                params={"choices": ", ".join(_SEVERITIES)},
            )
        return {"severity": severity}

    def options_help(self) -> str:
        return str(
            _(
                '{"severity": "Critical"}: the severity of a monitor going down through the '
                "Webhook type (Critical, Warning or Info); the FlashDuty type sends its own."
            )
        )

    def declared_options(self) -> Sequence[DeclaredOption]:
        return (
            DeclaredOption(
                "severity",
                _("Severity"),
                OptionType.CHOICE,
                _(
                    "Of a monitor going down through the Webhook type; the FlashDuty type "
                    "sends its own."
                ),
                [(name, severity.label) for name, severity in parser.SEVERITY_TABLE],
            ),
        )

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In Uptime Kuma, open Settings > Notifications > Setup Notification; "
                    "Notification Type: Webhook, Post URL: {url}, Request Body: Preset - "
                    "application/json."
                ).format(url=push_url),
                _(
                    "Or choose the FlashDuty type, paste {url} as its Integration Key and pick its "
                    "Severity."
                ).format(url=push_url),
                _(
                    "Enable the notification on your monitors. Only tags with a value become "
                    "labels; a monitor going down fires, coming up resolves."
                ),
            ],
            snippets=[curl_snippet(push_url, json.dumps(_EXAMPLE))],
        )
