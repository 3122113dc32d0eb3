"""Alibaba Cloud CloudMonitor system events (event subscription, webhook push channel) as an
alert source; the parser is in ``parser.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.aliyun_cms_event import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, SourceKind


class AliyunCmsEventSource(SourceKind):
    kind = "aliyun_cms_event"
    label = _("Alibaba Cloud CloudMonitor (events)")
    sender = _("CloudMonitor event subscription, webhook push channel (POST, JSON)")
    identity = _("product, resourceId and the event name without its stage")
    recovery = _("status (or the name's stage) Executed, Resolved, Recovered, Canceled or Avoided")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the CloudMonitor console open Event Center → Event Subscription → "
                    "Push Channels and create a push channel: target type Webhook, method "
                    "POST, data format JSON, address {url}."
                ).format(url=push_url),
                _(
                    "Under Subscription Policies create a policy: name it, choose the event "
                    "types and scope to forward, and pick that push channel at the bottom."
                ),
                _(
                    "Threshold alerts are better sent to an Alibaba Cloud CloudMonitor "
                    "(metrics) source, whose recoveries resolve them."
                ),
            ],
            snippets=[],
        )
