"""Jira's issue webhook as a change source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from integrations.sources.change_jira import parser
from oncall.change_events import ChangeRecord, ChangeSourceKind


class JiraChangeSource(ChangeSourceKind):
    kind = "change_jira"
    label = "Jira issue events (changes)"

    def parse_changes(self, payload: Any) -> list[ChangeRecord]:
        return parser.parse(payload)
