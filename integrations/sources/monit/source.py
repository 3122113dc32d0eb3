"""Monit as an alert source (the parser is in ``parser.py``, the script Monit runs in
``monit-to-oncall.sh``)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.monit import parser
from oncall.events import AlertEvent
from oncall.sources import SetupGuide, Snippet, SourceKind

SCRIPT_PATH = Path(__file__).with_name("monit-to-oncall.sh")
_URL_PLACEHOLDER = "__PUSH_URL__"


@cache
def _script_template() -> str:
    return SCRIPT_PATH.read_text(encoding="utf-8")


def monit_script(push_url: str) -> str:
    """The script, its push URL filled in (single-quoted in sh, so a quote is escaped)."""
    return _script_template().replace(_URL_PLACEHOLDER, push_url.replace("'", "'\\''"))


class MonitSource(SourceKind):
    kind = "monit"
    label = "Monit"
    sender = _("Monit's exec action running the script below")
    identity = _("the Monit host and the checked service")
    recovery = _("the check's 'else if succeeded' action (monit_state=recovery)")
    severity_table = parser.SEVERITY_TABLE
    # The script posts form fields (curl --data-urlencode): no JSON quoting in sh.
    form_body = True

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=[
                _(
                    "Save the script below as /usr/local/bin/monit-to-oncall on the Monit host "
                    "and make it executable (chmod +x); it needs curl."
                ),
                _(
                    "In each check that should page someone, run it on failure and on recovery "
                    "(monitrc example below), then run monit reload."
                ),
                _(
                    "The first argument is problem or recovery, the second the severity: "
                    "critical, warning or info."
                ),
            ],
            snippets=[
                Snippet(
                    title=_("monitrc"),
                    language="text",
                    text=(
                        "check process nginx with pidfile /run/nginx.pid\n"
                        '  if does not exist then exec "/usr/local/bin/monit-to-oncall problem '
                        'critical"\n'
                        "    else if succeeded then exec "
                        '"/usr/local/bin/monit-to-oncall recovery"\n'
                    ),
                ),
                Snippet(
                    title=_("/usr/local/bin/monit-to-oncall"),
                    language="sh",
                    text=monit_script(push_url),
                ),
            ],
        )
