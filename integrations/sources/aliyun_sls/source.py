"""Alibaba Cloud Simple Log Service (SLS) alerts as an alert source; the parser is in
``parser.py``."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.aliyun_sls import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class AliyunSlsSource(SourceKind):
    kind = "aliyun_sls"
    label = _("Alibaba Cloud SLS")
    sender = _("SLS generic webhook, content template {{ alert | to_json }}, sent individually")
    identity = _("fingerprint (else project, alert_id and labels)")
    recovery = _("status resolved")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the SLS console, in the project, open Alerts → Alert Management → "
                    "Webhook Integration and create a Generic Webhook: method POST, URL {url}."
                ).format(url=push_url),
                _(
                    "Under Content Templates add a template whose Webhook-Custom content is the "
                    'snippet below, with the sending method "send individually".'
                ),
                _(
                    "Under Action Policies add a policy whose first action list sends through "
                    "that webhook with that template, at any time."
                ),
                _(
                    "In each alert rule (Rules/Transactions), choose the normal alert policy "
                    "mode and that action policy. Alerts of ActionTrail delivered to a Logstore "
                    "come the same way."
                ),
            ],
            snippets=[
                Snippet(title=_("Content template"), language="jinja", text="{{ alert | to_json }}")
            ],
        )
