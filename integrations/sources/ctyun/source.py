"""State Cloud (CTyun) Cloud Eye alarm callbacks as an alert source; the parser is in
``parser.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.ctyun import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind


class CtyunSource(SourceKind):
    kind = "ctyun"
    label = _("State Cloud (CTyun)")
    sender = _("CTyun Cloud Eye alarm rule callback")
    identity = _("issueID (else alarmRuleID and the resources)")
    recovery = _("status 1 (recovered)")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the CTyun console open Cloud Eye → Alarm Service → Alarm "
                    "Contacts/Groups and create the contacts or group you need."
                ),
                _(
                    "Under Alarm Rules, create or edit a rule and set its alarm callback to "
                    "{url}; click Test, then Save."
                ).format(url=push_url),
                _(
                    "Resources in CTyun's secondary nodes are monitored by Huawei's Cloud Eye: "
                    "send those to a Huawei Cloud CES source instead."
                ),
            ],
            snippets=[],
        )
