"""ElastAlert 2 as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.common import integration_key_url
from integrations.sources.elastalert2 import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind


class ElastAlert2Source(SourceKind):
    kind = "elastalert2"
    label = "ElastAlert 2"
    sender = _("ElastAlert 2 rule with the post2 alerter (the snippet below) or the flashduty one")
    identity = _("alert_key, else the rule and its labels")
    recovery = _("status Ok")
    severity_table = parser.SEVERITY_TABLE

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        url = integration_key_url(push_url)
        return SetupGuide(
            steps=[
                _(
                    "In each ElastAlert 2 rule file that should page someone, add the post2 "
                    "alerter below: http_post2_url is {url}; keep elastalert_rule (the rule's "
                    "name) and set alert_status to Critical, Warning or Info."
                ).format(url=url),
                _(
                    "Or use the flashduty alerter (ElastAlert 2.19+): alert: flashduty, "
                    "flashduty_url: {url}, flashduty_title and flashduty_event_status."
                ).format(url=url),
                _(
                    "ElastAlert never sends a recovery by itself; repeats of a rule (realert) "
                    "merge into one alert. Restart ElastAlert after editing the rules."
                ),
            ],
            snippets=[
                Snippet(
                    title=_("Rule file (post2 alerter)"),
                    language="yaml",
                    text=parser.RULE_SNIPPET.format(push_url=url),
                )
            ],
        )
