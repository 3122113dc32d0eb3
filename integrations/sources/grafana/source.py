"""Grafana's webhook contact point (unified and legacy alerting) as an alert source (the parser
is in ``parser.py``). It answers with the console's default answers."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.grafana import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, SourceKind


class GrafanaSource(SourceKind):
    kind = "grafana"
    label = "Grafana"
    sender = _("Grafana webhook contact point (unified alerting; legacy alerting too)")
    identity = _("`fingerprint` (unified), the rule id (legacy)")
    recovery = _("the alert's `status` `resolved`; legacy `state` `ok`")
    severity_table = (
        ("critical", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
    )

    def recognises(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        unified = "orgId" in payload and "alerts" in payload and "groupKey" in payload
        legacy = "evalMatches" in payload or ("ruleName" in payload and "state" in payload)
        return unified or legacy

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            [
                str(
                    _(
                        "Alerting → Contact points → New contact point: integration Webhook, "
                        "URL {url}, method POST."
                    ).format(url=push_url)
                ),
                str(
                    _(
                        "Use the contact point in a notification policy; a severity label "
                        "sets the severity."
                    )
                ),
            ]
        )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def truncated_count(self, payload: Any) -> int:
        return parser.truncated_count(payload)
