"""Huawei Cloud Log Tank Service (LTS) alarms, delivered through SMN, as an alert source; the
parser is in ``parser.py`` (SMN's envelope and confirmation: ``huawei_ces/smn.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.huawei_ces import smn
from integrations.sources.huawei_lts import parser
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind


class HuaweiLtsSource(SourceKind):
    kind = "huawei_lts"
    label = _("Huawei Cloud LTS")
    sender = _("LTS alarm action rule through an SMN topic's HTTPS subscription (JSON template)")
    identity = _("event_sn (else the rule, log group and log stream)")
    recovery = _("ends_at set, or alarm_status ok / resolved / cleared / recovered")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        return smn.handshake(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the SMN console create a topic (e.g. Flashduty) and add a subscription: "
                    "protocol HTTPS, endpoint {url}. This source confirms it by itself; check "
                    "that its status is Confirmed."
                ).format(url=push_url),
                _(
                    "In the LTS console open Log Alarms → Alarm Action Rules → Message "
                    "Templates and create one: header language English, notification type "
                    "HTTP/HTTPS, data type JSON."
                ),
                _(
                    "Create an alarm action rule with that topic and that template, then pick "
                    "the rule in each alarm rule's advanced settings, ticking both \"alarm "
                    'triggered" and "alarm recovered".'
                ),
            ],
            snippets=[],
        )
