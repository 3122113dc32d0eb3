"""Graylog's HTTP notification as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.graylog import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind


class GraylogSource(SourceKind):
    kind = "graylog"
    label = "Graylog"
    sender = _("Graylog 3.1+ HTTP Notification of an event definition")
    identity = _("event definition id and the event's group-by key")
    recovery = _("none: Graylog sends no recovery; resolve in the console")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In Graylog, open Alerts > Notifications > Create notification; Notification "
                    "Type: HTTP Notification, URL: {url}. Graylog asks to add the URL to its "
                    "whitelist the first time: accept."
                ).format(url=push_url),
                _(
                    "In each event definition that should page someone, add this notification "
                    "under Notifications. Group-by fields make one alert per group."
                ),
                _(
                    "Graylog never says an event is over: resolve or close these alerts in the "
                    "console."
                ),
            ],
        )
