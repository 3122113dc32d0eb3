"""Zabbix's webhook media type as an alert source (the parser is in ``parser.py``, the script
the user pastes into Zabbix in ``media_type.js``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.zabbix import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind

SCRIPT_PATH = Path(__file__).with_name("media_type.js")


@cache
def media_type_script() -> str:
    """The JavaScript the user pastes into the media type's Script field."""
    return SCRIPT_PATH.read_text(encoding="utf-8")


class ZabbixSource(SourceKind):
    kind = "zabbix"
    label = "Zabbix"
    sender = _("Zabbix 5.0+ webhook media type (the script below)")
    identity = _("the problem's event id ({EVENT.ID})")
    recovery = _("event_value 0: Zabbix's recovery operation")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        parameters = "\n".join(
            f"{name} = {push_url if name == 'URL' else value}"
            for name, value in parser.MEDIA_TYPE_PARAMETERS
        )
        return SetupGuide(
            steps=[
                _(
                    "In Zabbix, open Alerts (Administration in 5.x/6.x) > Media types > Create "
                    "media type; Type: Webhook, Name: On-call console."
                ),
                _(
                    "Add the parameters below (URL is {url}; set zabbix_url to your Zabbix front "
                    "end, HTTPProxy only if Zabbix needs a proxy) and paste the script into Script."
                ).format(url=push_url),
                _(
                    "On the media type's Message templates tab, add Problem, Problem recovery and "
                    "Problem update (Zabbix's default texts are fine): they fill alert_subject and "
                    "alert_message."
                ),
                _(
                    "Link the media type to a user who can read the hosts (Users > Users > Media; "
                    "Send to: on-call)."
                ),
                _(
                    "In Trigger actions, create an action whose Operations, Recovery operations "
                    "and Update operations all send to that user through this media type."
                ),
            ],
            snippets=[
                Snippet(title=_("Media type parameters"), language="text", text=parameters),
                Snippet(
                    title=_("Media type script"), language="javascript", text=media_type_script()
                ),
            ],
        )
