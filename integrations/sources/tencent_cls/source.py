"""Tencent Cloud Log Service (CLS) as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.tencent_cls import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, Snippet, SourceKind

# CLS fills in its Go-template variables; ``escape`` makes each one a valid JSON string and
# ``.Label`` is already a JSON object.
CALLBACK_BODY = """{
  "alarm_id": "{{escape .AlarmID}}",
  "alarm": "{{escape .Alarm}}",
  "level": "{{escape .Level}}",
  "notify_type": "{{escape .NotifyType}}",
  "record_group_id": "{{escape .RecordGroupId}}",
  "region": "{{escape .Region}}",
  "uin": "{{escape .UIN}}",
  "topic": "{{escape .Topic}}",
  "topic_id": "{{escape .TopicId}}",
  "condition": "{{escape .Condition}}",
  "trigger_params": "{{escape .TriggerParams}}",
  "message": "{{escape .Message}}",
  "start_time_unix": "{{escape .StartTimeUnix}}",
  "detail_url": "{{escape .DetailUrl}}",
  "query_url": "{{escape .QueryUrl}}",
  "label": {{.Label}}
}"""


class TencentClsSource(SourceKind):
    kind = "tencent_cls"
    label = _("Tencent Cloud CLS")
    sender = _(
        "CLS alarm policy, channel group of type custom API callback (body in the set-up guide)"
    )
    identity = _("`alarm_id`, plus `record_group_id` when the policy groups its results")
    recovery = _("`notify_type` 2")
    severity_table = (
        ("Info", Severity.INFO),
        ("Warn", Severity.WARNING),
        ("Critical", Severity.CRITICAL),
    )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In the CLS console, open Monitoring Alarms → Notification Channel Groups and "
                    "create a group with a channel of type custom API callback, method POST, "
                    "callback URL {url}."
                ).format(url=push_url),
                _(
                    "Link the channel group to each alarm policy whose alarms should reach the "
                    "console, with notifications for both alarms and recoveries."
                ),
                _("In the policy's custom callback content, paste the body below."),
            ),
            snippets=(Snippet(str(_("Callback body")), "json", CALLBACK_BODY),),
        )
