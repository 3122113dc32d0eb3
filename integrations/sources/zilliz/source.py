"""Zilliz Cloud project alerts as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.zilliz import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, SourceKind


class ZillizSource(SourceKind):
    kind = "zilliz"
    label = _("Zilliz Cloud")
    sender = _("Zilliz Cloud project alert sent to a webhook (payload not published by Zilliz)")
    identity = _("`ruleId` and `clusterId` (one alert per rule and cluster)")
    recovery = _("`status` `RESOLVED` (turn on alert resolution notifications)")
    severity_table = (("CRITICAL", Severity.CRITICAL), ("WARNING", Severity.WARNING))

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In the Zilliz Cloud console, open Project Alerts and create or edit an "
                    "alert; under Send to choose Webhook with the URL {url}."
                ).format(url=push_url),
                _("Tick Alert Resolution Notification, so that recoveries close the alert here."),
            ),
            snippets=(),
        )
