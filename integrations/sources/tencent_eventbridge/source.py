"""Tencent Cloud EventBridge as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.tencent_eventbridge import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, Snippet, SourceKind

# Matches every event of every Tencent Cloud product.
EVENT_PATTERN = """{
  "source": [{"suffix": ".cloud.tencent"}]
}"""


class TencentEbSource(SourceKind):
    kind = "tencent_eventbridge"
    label = _("Tencent Cloud EventBridge")
    sender = _("EventBridge event rule, target message push to a custom webhook (API callback)")
    identity = _("`source`, `type` and `subject` (the event type on one resource)")
    recovery = _('`status` "0" (the product reports the resource back to normal)')
    severity_table = ((_("any event"), Severity.WARNING),)

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In the EventBridge console, open Event Rules and create a rule; to match "
                    "every Tencent Cloud event, use the custom pattern below."
                ),
                _(
                    "As the rule's target choose message push, the general notification "
                    "template in English, API callback, custom webhook, with the address {url}."
                ).format(url=push_url),
                _("Send a test event from the event set to check that it arrives."),
            ),
            snippets=(Snippet(str(_("Event pattern")), "json", EVENT_PATTERN),),
        )
