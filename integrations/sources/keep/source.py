"""Keep as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.common import integration_key_url
from integrations.sources.keep import parser
from oncall.events import AlertEvent
from oncall.sources import Answer, PushRequest, SetupGuide, Snippet, SourceKind


class KeepSource(SourceKind):
    kind = "keep"
    label = "Keep"
    sender = _("a Keep workflow's webhook provider (the workflow below)")
    identity = _("Keep's alert fingerprint")
    recovery = _("status resolved")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def handshake(self, payload: Any, push: PushRequest) -> Answer | None:
        # Installing Keep's webhook provider posts a test body to check the URL.
        if parser.is_connection_test(payload):
            return Answer(200, {"accepted": 0, "notes": ["Keep's connection test received"]})
        return None

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        url = integration_key_url(push_url)
        return SetupGuide(
            steps=[
                _(
                    "In Keep, open Providers and connect a Webhook provider named on-call-console: "
                    "URL {url}, method POST (Keep's test post is answered without storing)."
                ).format(url=url),
                _(
                    "Create a workflow (below) whose alert trigger and filters choose the alerts "
                    "to page; its step posts each alert's fields to the console."
                ),
                _("Keep's fingerprint is the alert's identity: a resolved alert resolves it."),
            ],
            snippets=[Snippet(title=_("Workflow"), language="yaml", text=parser.WORKFLOW_SNIPPET)],
        )
