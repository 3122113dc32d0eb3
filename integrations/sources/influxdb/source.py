"""InfluxDB (2.x notification endpoints, 1.x Kapacitor) as an alert source (the parser is in
``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.influxdb import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind


class InfluxDBSource(SourceKind):
    kind = "influxdb"
    label = "InfluxDB / InfluxData"
    sender = _("InfluxDB 2.x HTTP notification endpoint, or a 1.x Kapacitor post handler")
    identity = _("2.x: the check and the series' tags; 1.x: Kapacitor's alert id")
    recovery = _("level ok / OK")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "InfluxDB 2.x: under Alerts > Notification Endpoints, create an HTTP "
                    "endpoint, method POST, no authentication, URL {url}."
                ).format(url=push_url),
                _(
                    "Then create a notification rule that sends your checks' statuses (crit, "
                    "warn, info and ok, so that recoveries resolve) to that endpoint."
                ),
                _(
                    "InfluxDB 1.x (Chronograf): in the alert rule's Alert Handlers, add a 'post' "
                    "handler whose HTTP endpoint is {url}."
                ).format(url=push_url),
            ],
        )
