"""Amazon EventBridge events (API destination or SNS topic) as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.aws_cloudwatch import sns
from integrations.sources.aws_eventbridge import parser
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, Snippet, SourceKind

EVENT_PATTERN = """{
  "source": ["aws.cloudwatch", "aws.guardduty", "aws.securityhub", "aws.health",
             "aws.inspector2", "aws.config", "aws.devops-guru"]
}"""


class AwsEventBridgeSource(SourceKind):
    kind = "aws_eventbridge"
    label = "AWS EventBridge"
    sender = _("Amazon EventBridge rule target: API destination, or an SNS topic")
    identity = _(
        "per source: alarm ARN, GuardDuty / Inspector / Security Hub finding, Health event, "
        "Config rule + resource, DevOps Guru insight; else the event id"
    )
    recovery = _(
        "alarm OK, Security Hub RESOLVED/SUPPRESSED/ARCHIVED, Health closed, Inspector "
        "CLOSED/SUPPRESSED, Config COMPLIANT/NOT_APPLICABLE, DevOps Guru Insight Closed"
    )
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        return sns.handshake(payload, push)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "EventBridge → API destinations → Connections: create one with API key "
                    "authorization (any name and value: the push URL carries the token)."
                ),
                _(
                    "Create an API destination: endpoint {url}, method POST, that connection."
                ).format(url=push_url),
                _(
                    "Or relay through Amazon SNS: an HTTPS subscription to {url} (the console "
                    "confirms it) with the topic as the rule's target."
                ).format(url=push_url),
                _(
                    "In the rule, target the destination (or topic) with the whole event: no "
                    "input transformer, and no pattern that drops recovery states."
                ),
            ],
            snippets=[Snippet(_("Event pattern (example)"), "json", EVENT_PATTERN)],
        )
