"""Prometheus Alertmanager's webhook receiver as an alert source (the parser is in
``parser.py``). It answers with the console's default answers."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from integrations.sources.alertmanager import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, Snippet, SourceKind

RECEIVER = """receivers:
  - name: oncall
    webhook_configs:
      - url: {url}
        send_resolved: true
        max_alerts: {max_alerts}
route:
  receiver: oncall
"""


class AlertmanagerSource(SourceKind):
    kind = "alertmanager"
    label = "Prometheus Alertmanager"
    sender = _("Prometheus Alertmanager webhook receiver (version 4)")
    identity = _("`fingerprint` (else the label set)")
    recovery = _("the alert's `status` `resolved` (`send_resolved: true`)")
    severity_table = (
        ("critical", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("info", Severity.INFO),
    )

    def recognises(self, payload: Any) -> bool:
        # Grafana's unified alerting posts the same shape plus orgId: that one is Grafana's.
        return (
            isinstance(payload, dict)
            and payload.get("version") == "4"
            and "groupKey" in payload
            and "alerts" in payload
            and "orgId" not in payload
        )

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            [
                str(_("Add a webhook receiver with the push URL to alertmanager.yml.")),
                str(
                    _(
                        "Route the alerts that should page to it and reload Alertmanager; "
                        "the severity label sets the severity."
                    )
                ),
            ],
            [
                Snippet(
                    "alertmanager.yml",
                    "yaml",
                    RECEIVER.format(url=push_url, max_alerts=settings.PUSH_MAX_ALERTS),
                )
            ],
        )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def truncated_count(self, payload: Any) -> int:
        return parser.truncated_count(payload)
