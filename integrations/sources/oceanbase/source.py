"""OceanBase (OCP) alarms as an alert source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.oceanbase import parser
from oncall.events import AlertEvent, Severity
from oncall.sources import SetupGuide, Snippet, SourceKind

# OCP runs a custom-script channel with the alarm's variables (alarm_id, alarm_level, ...) set;
# this script posts them to the push URL as one JSON object. Only active and cleared alarms are
# sent, as the parser expects.
SCRIPT = r"""#!/usr/bin/env bash
# OceanBase OCP "custom script" alarm channel: posts the alarm to the on-call console.
PUSH_URL='__PUSH_URL__'

# A JSON string's contents: backslashes, quotes, tabs, carriage returns and newlines escaped.
escape() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' -e 's/\r/\\r/g' \
    | awk 'NR > 1 { printf "\\n" } { printf "%s", $0 }'
}
# Unix seconds of one of OCP's times (OCP's own time zone), 0 when unset or unreadable.
epoch() {
  if [ -n "$1" ]; then date -d "$1" +%s 2>/dev/null || echo 0; else echo 0; fi
}

case "${alarm_status}" in
  Active|Inactive) ;;
  *) exit 0 ;;
esac

field() { printf '  "%s": "%s",\n' "$1" "$(escape "$2")"; }
body="{
$(field alarm_id "${alarm_id}")
$(field alarm_name "${alarm_name}")
$(field alarm_level "${alarm_level}")
$(field alarm_status "${alarm_status}")
$(field alarm_target "${alarm_target}")
$(field alarm_summary "${alarm_summary}")
$(field alarm_description "${alarm_description}")
$(field alarm_type "${alarm_type}")
$(field alarm_threshold "${alarm_threshold}")
$(field app_type "${app_type}")
$(field ob_cluster_group "${ob_cluster_group}")
$(field ob_cluster "${ob_cluster}")
$(field host_ip "${host_ip}")
$(field app_cluster "${app_cluster}")
$(field service "${service}")
$(field alarm_url "${alarm_url}")
  \"active_at\": $(epoch "${alarm_active_at}"),
  \"resolved_at\": $(epoch "${alarm_resolved_at}")
}"

curl -sS -m 10 -X POST "${PUSH_URL}" -H 'Content-Type: application/json' --data-binary "${body}"
"""


class OceanbaseSource(SourceKind):
    kind = "oceanbase"
    label = "OceanBase (OCP)"
    sender = _(
        "OCP alarm channel of type custom script (the set-up guide's script posts the alarm)"
    )
    identity = _("`alarm_id` (OCP's alarm)")
    recovery = _("`alarm_status` `Inactive`")
    severity_table = (
        ("Down", Severity.CRITICAL),
        ("Critical", Severity.CRITICAL),
        ("Warning", Severity.WARNING),
        ("Caution", Severity.INFO),
        ("Notice", Severity.INFO),
    )

    def parse(self, payload: Any) -> list[AlertEvent]:
        return parser.parse(payload)

    def recognises(self, payload: Any) -> bool:
        return parser.recognises(payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            steps=(
                _(
                    "In OCP, open Alarm Center → Alarm Channels and create a channel of type "
                    "custom script; paste the script below (it already holds this source's push "
                    "URL, {url}) and enter {{}} as response validation."
                ).format(url=push_url),
                _("Choose Markdown messages and the English message template."),
                _(
                    "Under Alarm Center → Alarm Push, create a push configuration in English with "
                    "this channel and recovery notifications on."
                ),
            ),
            snippets=(
                Snippet(str(_("Custom script")), "sh", SCRIPT.replace("__PUSH_URL__", push_url)),
            ),
        )
