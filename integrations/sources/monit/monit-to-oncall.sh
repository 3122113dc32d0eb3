#!/bin/sh
# monit-to-oncall: sends one Monit event to the on-call console.
#
# Monit runs it from a check's exec action, with the event in MONIT_* variables:
#   if does not exist then exec "/usr/local/bin/monit-to-oncall problem critical"
#     else if succeeded then exec "/usr/local/bin/monit-to-oncall recovery"
# The first argument is problem or recovery, the second the severity (critical, warning, info).
# It needs curl. Form fields, so that no text needs JSON quoting in sh.
PUSH_URL='__PUSH_URL__'

state="${1:-problem}"
severity="${2:-critical}"

exec curl --silent --show-error --fail --max-time 10 --output /dev/null "$PUSH_URL" \
    --data-urlencode "monit_state=$state" \
    --data-urlencode "monit_severity=$severity" \
    --data-urlencode "monit_service=$MONIT_SERVICE" \
    --data-urlencode "monit_event=$MONIT_EVENT" \
    --data-urlencode "monit_description=$MONIT_DESCRIPTION" \
    --data-urlencode "monit_host=$MONIT_HOST" \
    --data-urlencode "monit_date=$MONIT_DATE"
