"""ManageEngine OpManager's webhook as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.opmanager import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class OpManagerSource(SourceKind):
    kind = "opmanager"
    label = "ManageEngine OpManager"
    sender = _("OpManager notification profile 'Invoke a Webhook' (the body below)")
    identity = _("the alarm id ($alarmid)")
    recovery = _("severity Clear ('Notify when the alarm is cleared')")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In OpManager, open Settings > Notifications > Notification Profiles > Add > "
                    "Invoke a Webhook."
                ),
                _(
                    "Hook URL: POST {url}; Data Type: raw; Payload Type: JSON; Body Content: the "
                    "body below. Keep the default headers; any time-out from 1 to 300."
                ).format(url=push_url),
                _(
                    "Under the criteria, tick 'Notify when the alarm is cleared' (that resolves "
                    "the alert), pick the devices and save the profile."
                ),
            ],
            snippets=[Snippet(title=_("Body Content"), language="json", text=parser.BODY_TEMPLATE)],
        )
