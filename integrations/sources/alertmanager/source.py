"""Prometheus Alertmanager's webhook receiver as an alert source (the parser is in
``parser.py``). It answers with the console's default answers."""

from __future__ import annotations

from typing import Any

from integrations.sources.alertmanager import parser
from oncall.events import AlertEvent
from oncall.sources import SourceKind


class AlertmanagerSource(SourceKind):
    kind = "alertmanager"
    label = "Prometheus Alertmanager"

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def truncated_count(self, payload: Any) -> int:
        return parser.truncated_count(payload)
