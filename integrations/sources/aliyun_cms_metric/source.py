"""Alibaba Cloud CloudMonitor threshold-alert callbacks as an alert source; the parser is in
``parser.py``. CloudMonitor posts form fields, hence ``form_body``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.aliyun_cms_metric import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class AliyunCmsMetricSource(SourceKind):
    kind = "aliyun_cms_metric"
    label = _("Alibaba Cloud CloudMonitor (metrics)")
    sender = _("CloudMonitor alert rule callback URL or alert contact webhook (form fields)")
    identity = _("ruleId (or alertName), metric and dimensions")
    recovery = _("alertState OK")
    severity_table = parser.SEVERITY_TABLE
    form_body = True

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the CloudMonitor console open Alerts → Alert Rules and edit the rule "
                    "(or create one)."
                ),
                _(
                    "Under the advanced settings, set the alert callback to {url} and confirm. "
                    "Repeat for every rule that should reach this source."
                ).format(url=push_url),
                _(
                    "Or, for every rule of a contact: Alerts → Alert Contacts, edit the contact "
                    "and set its webhook to {url}."
                ).format(url=push_url),
            ],
            snippets=[
                Snippet(
                    title=_("Try it with curl"),
                    language="shell",
                    text=(
                        f"curl -X POST '{push_url}' \\\n"
                        "  --data-urlencode 'alertName=ECS CPU above 85%' \\\n"
                        "  --data-urlencode 'alertState=ALERT' \\\n"
                        "  --data-urlencode 'triggerLevel=WARN' \\\n"
                        "  --data-urlencode 'metricName=CPUUtilization' \\\n"
                        "  --data-urlencode 'curValue=91.5' \\\n"
                        '  --data-urlencode \'dimensions={"instanceId":"i-test"}\''
                    ),
                )
            ],
        )
