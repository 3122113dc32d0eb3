"""Huawei Cloud APM application-monitoring alarms, delivered through SMN, as an alert source;
the parser is in ``parser.py`` (SMN's envelope and confirmation: ``huawei_ces/smn.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.huawei_apm import parser
from integrations.sources.huawei_ces import smn
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, Snippet, SourceKind


class HuaweiApmSource(SourceKind):
    kind = "huawei_apm"
    label = _("Huawei Cloud APM")
    sender = _("APM alarm policy notifications through an SMN topic's HTTPS subscription")
    identity = _("the policy, app, host, instance and metric pairs of the notification content")
    recovery = _("a status pair ok / resolved / recovered / cleared (or a subject saying so)")
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
                    "protocol HTTPS, endpoint {url}. This source confirms it by itself."
                ).format(url=push_url),
                _(
                    "In APM, under Application Monitoring → Metrics → Notification, add a "
                    "notification configuration for the region with that topic."
                ),
                _(
                    "In each application's alarm policy, write the notification content as "
                    "key:value lines (the snippet below) and pick that notification object."
                ),
            ],
            snippets=[
                Snippet(
                    title=_("Notification content"),
                    language="text",
                    text=(
                        "APM alarm on ${appName}\n"
                        "policy:${policyName}\n"
                        "app:${appName}\n"
                        "host:${hostInfo}\n"
                        "level:${alarmLevel}\n"
                        "status:${alarmStatus}\n"
                        "metric:${metricName}\n"
                        "value:${currentValue}"
                    ),
                )
            ],
        )
