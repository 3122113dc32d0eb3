"""Baidu AI Cloud Cloud Monitor (BCM) alarm callbacks as an alert source; the parser is in
``parser.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.baidu_bcm import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind


class BaiduBcmSource(SourceKind):
    kind = "baidu_bcm"
    label = _("Baidu Cloud BCM")
    sender = _("BCM alarm policy callback URL")
    identity = _("serviceName, policyName, region and the resource's identifiers")
    recovery = _("type OK")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the Baidu AI Cloud console open Cloud Monitor → Alarm Management → "
                    "Alarm Policies, and edit a policy or create one."
                ),
                _("Set its callback URL to {url} and save.").format(url=push_url),
                _(
                    "Repeat for every policy that should reach this source; BCM calls back "
                    "when an alarm is triggered and when it recovers."
                ),
            ],
            snippets=[],
        )
