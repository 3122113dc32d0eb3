"""An ``oncall.offers`` provider for tests: a runbook link, a link no page may show, and three
actions (one that writes a note, one that asks first, one that fails), offered in every
channel but one named "Quiet"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from oncall import lifecycle
from oncall.models import Incident
from oncall.offers import ActionResult, InvalidOptions, OfferedAction, OfferedLink
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

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if key == "test:note":
            lifecycle.add_note(incident, actor, f"ran by {actor.source}")
            return ActionResult(True, "Noted.")
        if key == "test:ask":
            lifecycle.add_note(incident, actor, "rolled back")
            return ActionResult(True, "Rolled back.", url="https://deploy.example/1")
        if key == "test:fail":
            return ActionResult(False, "Status page answered 500.")
        return None


class PeopleOffers:
    """An action that takes people, offered after ``RunbookOffers``'s: the options pass the
    first provider by on their way to this one."""

    def links(self, incident: Incident) -> list[OfferedLink]:
        return []

    def actions(self, incident: Incident) -> list[OfferedAction]:
        return [OfferedAction("test:people", "Invite", takes_people=True)]

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if key != "test:people":
            return None
        names = ", ".join(sorted(person.username for person in options.get("people", [])))
        return ActionResult(True, f"Invited {names or 'nobody'}.")


class PickyOffers:
    """An action that takes people and refuses to run without any, by a rule of its own."""

    def links(self, incident: Incident) -> list[OfferedLink]:
        return []

    def actions(self, incident: Incident) -> list[OfferedAction]:
        return [OfferedAction("test:picky", "Page someone", takes_people=True)]

    def run(
        self, incident: Incident, key: str, actor: Actor, options: Mapping[str, Any]
    ) -> ActionResult | None:
        if key != "test:picky":
            return None
        if not options.get("people"):
            raise InvalidOptions("people", "Name someone to page.")
        return ActionResult(True, "Paged.")
