"""AWS CloudWatch alarms through an Amazon SNS topic, as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.aws_cloudwatch import parser, sns
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, SourceKind


class AwsCloudWatchSource(SourceKind):
    kind = "aws_cloudwatch"
    label = "AWS CloudWatch (SNS)"
    sender = _("Amazon SNS topic (HTTPS subscription) that CloudWatch alarms notify")
    identity = _("AlarmArn; other messages: the SNS MessageId")
    recovery = _("NewStateValue OK; other messages do not recover")
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
                _("In Amazon SNS, create a Standard topic for this console."),
                _("Create a subscription: protocol HTTPS, endpoint {url}").format(url=push_url),
                _(
                    "The console confirms the subscription by itself within seconds (see this "
                    "source's recent events); the subscription then shows Confirmed."
                ),
                _(
                    "In each CloudWatch alarm, notify the topic in all three states: In alarm, "
                    "OK and Insufficient data (without OK, alerts never resolve)."
                ),
                _(
                    "Alarms are warnings; to choose, write flashduty_severity: critical (or "
                    "warning, info) in the alarm's description."
                ),
            ],
        )
