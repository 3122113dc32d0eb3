"""Tencent Cloud Monitor as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.tencent_cm import parser
from oncall.events import AcceptResult, AlertEvent, Severity
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind


class TencentCmSource(SourceKind):
    kind = "tencent_cm"
    label = _("Tencent Cloud Monitor")
    sender = _("Cloud Monitor notification template with a callback URL (English)")
    identity = _(
        "`alarmPolicyInfo.policyId` with the alarm type, region, metric or event and object"
    )
    recovery = _("event alarms: `recoverTime` is not 0; other alarms: `alarmStatus` is 0")
    severity_table = (
        ("Remind", Severity.INFO),
        ("Warn", Severity.WARNING),
        ("Serious", Severity.CRITICAL),
        (_("no `alarmLevel`: metric"), Severity.WARNING),
        (_("no `alarmLevel`: event, prometheus, other"), Severity.CRITICAL),
    )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        """Cloud Monitor checks a callback URL once when it is saved and wants a 200; the check
        carries no alarm (an empty object, or only a ``sessionId``), so nothing is stored."""
        if isinstance(payload, dict) and set(payload) <= {"sessionId"}:
            return Answer(200, {"sessionId": str(payload.get("sessionId", "")), "retCode": 0})
        return None

    def accepted_answer(self, result: AcceptResult) -> Answer:
        """The console's answer plus ``retCode`` 0, which Cloud Monitor's callback reads as
        "received" (without it, it sends the alarm again, up to three times)."""
        answer = super().accepted_answer(result)
        return Answer(answer.status, {**answer.body, "retCode": 0})

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In Cloud Monitor, open Alarm Management → Notification Templates and create "
                    "a template whose callback URL is {url}, in English."
                ).format(url=push_url),
                _(
                    "Add the template to every alarm policy whose alarms should reach the "
                    "console, under Alarm Configuration → Alarm Policies."
                ),
                _("Cloud Monitor checks the URL once when it is saved; the console answers 200."),
            ),
            snippets=(),
        )
