"""Volcengine Cloud Monitor metric alarms as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.volc_cm_metric import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, SourceKind


class VolcCmMetricSource(SourceKind):
    kind = "volc_cm_metric"
    label = _("Volcengine Cloud Monitor metrics")
    sender = _("Cloud Monitor alarm policy with an alert callback to a general callback URL")
    identity = _("`RuleId` and the resource's `Id` (no-data alarms apart)")
    recovery = _("the resource is listed in `RecoveredResources` or `NoDataRecoveredResources`")
    severity_table = (
        ("critical", Severity.CRITICAL),
        ("warning", Severity.WARNING),
        ("notice", Severity.INFO),
    )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In Volcengine Cloud Monitor, open Notification Groups → Callback and create a "
                    "general callback URL {url} (its connectivity test may fail; alarms still "
                    "arrive)."
                ).format(url=push_url),
                _(
                    "In each alarm policy, send aggregated by rules and resources, keep the alarm "
                    "recovery notification on, and choose the callback under alert channels."
                ),
            ),
            snippets=(),
        )
