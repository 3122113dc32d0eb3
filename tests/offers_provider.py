"""An ``oncall.offers`` provider for tests: a runbook link, a link no page may show, and three
actions (one that writes a note, one that asks first, one that fails), offered in every
channel but one named "Quiet"."""

from __future__ import annotations

from oncall import lifecycle
from oncall.models import Incident
from oncall.offers import ActionResult, OfferedAction, OfferedLink
from oncall.timeline import Actor


class RunbookOffers:
    def links(self, incident: Incident) -> list[OfferedLink]:
        if incident.channel.name == "Quiet":
            return []
        return [
            OfferedLink("runbook", "Runbook", f"https://runbooks.example/{incident.number}"),
            OfferedLink("evil", "Evil", "javascript:alert(1)"),
        ]

    def actions(self, incident: Incident) -> list[OfferedAction]:
        if incident.channel.name == "Quiet":
            return []
        return [
            OfferedAction("test:note", "Write a note", style="primary", icon="📝"),
            OfferedAction("test:ask", "Roll back", style="danger", confirm="Roll back v2?"),
            OfferedAction("test:fail", "Status page", colour="red; background: url(x)"),
        ]

    def run(self, incident: Incident, key: str, actor: Actor) -> ActionResult | None:
        if key == "test:note":
            lifecycle.add_note(incident, actor, f"ran by {actor.source}")
            return ActionResult(True, "Noted.")
        if key == "test:ask":
            lifecycle.add_note(incident, actor, "rolled back")
            return ActionResult(True, "Rolled back.", url="https://deploy.example/1")
        if key == "test:fail":
            return ActionResult(False, "Status page answered 500.")
        return None
