"""The custom change event protocol as a change source (the parser is in ``parser.py``)."""

from __future__ import annotations

from typing import Any

from integrations.sources.change_custom import parser
from oncall.change_events import ChangeRecord, ChangeSourceKind


class CustomChangeSource(ChangeSourceKind):
    kind = "change_custom"
    label = "Custom change event"

    def parse_changes(self, payload: Any) -> list[ChangeRecord]:
        return parser.parse(payload)
