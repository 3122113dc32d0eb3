"""Volcengine Cloud-Detect alarms as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.volc_cloud_detect import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, SourceKind


class VolcCloudDetectSource(SourceKind):
    kind = "volc_cloud_detect"
    label = _("Volcengine Cloud-Detect")
    sender = _("Cloud-Detect alarm callback (or an Alert Manager system-integration notify object)")
    identity = _("`task_id`, `subtask_id` and the probe's `filters` (carrier, province)")
    recovery = _("none: Cloud-Detect documents no recovery callback (close it, or auto-close)")
    severity_table = (("P0", Severity.CRITICAL), ("P2", Severity.WARNING))

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In the Volcengine console, open Alert Manager → Notify Object → System "
                    "Integration and create an integration named after the console with the URL "
                    "{url} (or set it as the alarm's callback URL in Cloud-Detect)."
                ).format(url=push_url),
                _(
                    "Choose that notify object in every Cloud-Detect alarm that should reach "
                    "the console."
                ),
            ),
            snippets=(),
        )
