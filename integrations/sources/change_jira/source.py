"""Jira's issue webhook as a change source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from integrations.sources.change_jira import parser
from oncall.change_events import ChangeRecord, ChangeSourceKind
from oncall.sources import SetupGuide, Snippet


class JiraChangeSource(ChangeSourceKind):
    kind = "change_jira"
    label = _("Jira issue events (changes)")
    sender = _(
        "a Jira Cloud or Data Center / Server webhook on issue created, updated and deleted "
        "(a change, never an incident)"
    )
    identity = _("`issue.key` (OPS-123): every push about one issue updates one change")
    recovery = _(
        "none: a change opens no incident; its status follows `issue.fields.status.name` "
        "(Done, Resolved, Closed → done)"
    )

    def recognises(self, payload: Any) -> bool:
        if not isinstance(payload, dict):
            return False
        event = payload.get("webhookEvent")
        return isinstance(event, str) and (event.startswith("jira:") or "issue" in payload)

    def setup_guide(self, push_url: str) -> SetupGuide:
        return SetupGuide(
            [
                str(
                    _(
                        "In Jira (administrator): Settings → System → WebHooks (Cloud), or "
                        "Administration → System → WebHooks (Data Center / Server); click "
                        "Create a WebHook."
                    )
                ),
                str(_("Set the URL to the push URL: {url}").format(url=push_url)),
                str(
                    _(
                        "Under Events, tick Issue created, updated and deleted; optionally limit "
                        "them with JQL, e.g. project = OPS AND issuetype = Change."
                    )
                ),
                str(
                    _(
                        "Leave Exclude body unchecked and the secret empty (the push URL's "
                        "token authenticates), then click Create."
                    )
                ),
                str(
                    _(
                        "Check it: create an issue or move one to another status; the change "
                        "shows in the channel's changes. A status outside the mapping (To Do, "
                        "In Progress, Done, ...) is refused with a 400 in Jira's delivery log."
                    )
                ),
            ],
            [Snippet(str(_("JQL to sync only change requests")), "text", _JQL)],
        )

    def parse_changes(self, payload: Any) -> list[ChangeRecord]:
        return parser.parse(payload)


_JQL = "project = OPS AND issuetype = Change"
