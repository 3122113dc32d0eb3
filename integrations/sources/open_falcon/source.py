"""Open-Falcon's alarm callback as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.open_falcon import parser
from oncall.events import AlertEvent
from oncall.sources import PushRequest, SetupGuide, Snippet, SourceKind


class OpenFalconSource(SourceKind):
    kind = "open_falcon"
    label = "Open-Falcon"
    sender = _("Open-Falcon alarm callback of a template or expression")
    identity = _("strategy (or expression) id, endpoint, metric and tags")
    recovery = _("status OK")
    severity_table = parser.SEVERITY_TABLE
    # falcon-plus's alarm module calls the callback URL with GET and the parameters in the
    # query string (modules/alarm/cron/callback.go); forks and proxies POST them as a form.
    get_body = True
    form_body = True

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def parse_push(self, payload: Any, push: PushRequest) -> list[AlertEvent]:
        return parser.parse(parser.with_query(payload, push.query))

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "In the Open-Falcon dashboard, open Templates, edit each template that should "
                    "page someone and set its callback URL to {url}."
                ).format(url=push_url),
                _("Expressions take the same callback URL. Save; PROBLEM fires, OK resolves."),
            ],
            snippets=[
                Snippet(
                    title=_("Try it"),
                    language="sh",
                    text=(
                        f"curl -sS -G '{push_url}' --data-urlencode endpoint=web-01 "
                        "--data-urlencode metric=cpu.idle --data-urlencode status=PROBLEM "
                        "--data-urlencode priority=1 --data-urlencode stra_id=1 "
                        "--data-urlencode tags=idc:bj"
                    ),
                )
            ],
        )
