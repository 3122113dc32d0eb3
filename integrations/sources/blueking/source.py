"""Tencent BlueKing Monitor as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.blueking import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, Snippet, SourceKind

CALLBACK_BODY = "{{alarm.callback_message}}"


class BluekingSource(SourceKind):
    kind = "blueking"
    label = _("Tencent BlueKing")
    sender = _(
        "BlueKing Monitor V6/V7 HTTP-callback action plan, body `{{alarm.callback_message}}`"
    )
    identity = _("`bk_biz_id` and `event.id` (the BlueKing alert's id)")
    recovery = _("`type` `recovery_notice` or `closed`")
    severity_table = (
        ("1 (fatal)", Severity.CRITICAL),
        ("2 (warning)", Severity.WARNING),
        ("3 (notice)", Severity.INFO),
    )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In BlueKing's Monitor Platform, open Configuration → Action Plans and add a "
                    "plan of type HTTP callback, method POST, URL {url}."
                ).format(url=push_url),
                _("Under Body choose JSON and paste the body below, then save the plan."),
                _(
                    "In every alert policy that should reach the console, select the plan for "
                    "all three alert-processing cases (alarm, recovery, close) and turn off "
                    "defense rules."
                ),
            ),
            snippets=(Snippet(str(_("Callback body")), "text", CALLBACK_BODY),),
        )
