"""Alibaba Cloud ARMS alert notifications (webhook body ``$alertmanager_content``) as an alert
source; the parser is in ``parser.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.aliyun_arms import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class AliyunArmsSource(SourceKind):
    kind = "aliyun_arms"
    label = _("Alibaba Cloud ARMS")
    sender = _("ARMS alert management webhook whose body is $alertmanager_content")
    identity = _("fingerprint of each alert")
    recovery = _("status resolved (per alert)")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the ARMS console open Alert Management → Notification Objects → "
                    "Webhook Integration and create a webhook."
                ),
                _("Method POST, URL: {url}").format(url=push_url),
                _("Add the header Content-Type: application/json."),
                _("Set the notification template (body) to $alertmanager_content and save."),
                _(
                    "In Alert Management → Notification Policies, pick this webhook as the "
                    "notification object of the policies whose alerts should come here."
                ),
            ],
            snippets=[
                Snippet(title=_("Webhook body"), language="text", text="$alertmanager_content")
            ],
        )
