"""Splunk's webhook alert action as an alert source."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.splunk import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class SplunkSource(SourceKind):
    kind = "splunk"
    label = "Splunk"
    sender = _("Splunk alert's Webhook action")
    identity = _("app and search_name (the saved search), else sid")
    recovery = _("none from Splunk; a result field oncall_status=resolved resolves")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _("In Splunk, save the search as an alert (Save As → Alert)."),
                _("Under Trigger Actions, add the Webhook action with the URL {url}").format(
                    url=push_url
                ),
                _(
                    "Splunk 9 and later: add the push URL to the webhook allow list "
                    "(Settings → Server settings → Webhook allow list)."
                ),
                _(
                    "Every alert arrives as a warning and stays open until closed here; to set "
                    "the severity or resolve from the search, compute the result fields below."
                ),
            ],
            snippets=[
                Snippet(
                    _("Optional result fields"),
                    "spl",
                    '| eval severity="critical"\n| eval oncall_status="resolved"',
                )
            ],
        )
