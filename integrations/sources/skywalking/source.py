"""Apache SkyWalking's alarm webhook as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.skywalking import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, Snippet, SourceKind


class SkyWalkingSource(SourceKind):
    kind = "skywalking"
    label = "Apache SkyWalking"
    sender = _("Apache SkyWalking OAP alarm webhook (8.x to 10.x)")
    identity = _("scope, entity ids (id0, id1) and rule name")
    recovery = _("a recovery message (recoveryTime, SkyWalking 10+)")
    severity_table = (*parser.SEVERITY_TABLE, (_("other or none"), Severity.INFO))

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "On the OAP server, give each rule in config/alarm-settings.yml a level tag "
                    "(Critical, Warning or Info; tags need SkyWalking 8.6+)."
                ),
                _(
                    "Add the push URL {url} as a webhook at the end of the file (below), then "
                    "restart the OAP server."
                ).format(url=push_url),
            ],
            snippets=[
                Snippet(
                    title=_("alarm-settings.yml, SkyWalking 10"),
                    language="yaml",
                    text=(
                        "hooks:\n"
                        "  webhook:\n"
                        "    default:\n"
                        "      is-default: true\n"
                        "      urls:\n"
                        f"        - {push_url}\n"
                    ),
                ),
                Snippet(
                    title=_("alarm-settings.yml, SkyWalking 8.x and 9.x"),
                    language="yaml",
                    text=f"webhooks:\n  - {push_url}\n",
                ),
                Snippet(
                    title=_("A rule with a level tag"),
                    language="yaml",
                    text=(
                        "rules:\n"
                        "  service_resp_time_rule:\n"
                        "    expression: sum(service_resp_time > 1000) >= 3\n"
                        "    period: 10\n"
                        "    message: Response time of service {name} is more than 1000ms\n"
                        "    tags:\n"
                        "      level: Critical\n"
                    ),
                ),
            ],
        )
