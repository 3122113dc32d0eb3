"""Huawei Cloud Eye (CES) alarms, delivered by SMN to an HTTPS subscription, as an alert
source; the parser is in ``parser.py``, SMN's envelope and confirmation in ``smn.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.huawei_ces import parser, smn
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind


class HuaweiCesSource(SourceKind):
    kind = "huawei_ces"
    label = _("Huawei Cloud CES")
    sender = _("Cloud Eye HTTP(S) notification object (an SMN subscription), JSON content template")
    identity = _("the alarm rule, the resource (ResourceId) and the metric")
    recovery = _("IsAlarm false (older notifications: alarm_status ok)")
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
                    "In the Cloud Eye console open Alarm Notifications → Notification Content "
                    "Templates and create one: channel HTTP/HTTPS, data format JSON (its preview "
                    'starts with {"version": "v1", "data": ...}).'
                ),
                _(
                    "In the Cloud Eye console open Alarm Notifications → Notification Objects "
                    "and create one: protocol HTTPS, name flashduty, endpoint {url}."
                ).format(url=push_url),
                _(
                    "Create a notification group with that object. Huawei Cloud sends a "
                    "subscription confirmation, which this source confirms by itself: the "
                    "object's status turns to Confirmed."
                ),
                _(
                    "In each alarm rule (or a notification policy), pick that notification "
                    "group and that content template, and notify both when the alarm is "
                    "triggered and when it is cleared, so that recoveries resolve alerts."
                ),
            ],
            snippets=[],
        )
