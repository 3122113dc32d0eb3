"""Card buttons: claim, unclaim, close, reopen, snooze, wake and refresh, through the one
incident-lifecycle service, answered within Feishu's 3 s with a toast and the current card.

Nothing in the button is trusted: its value names an incident by public id, the clicker is
looked up by open_id among the app's linked accounts, and the lifecycle service checks what that
person may do. A click on a stale card (the action no longer fits the incident) gets the
current card and a toast saying what happened, never an error. The other copies of the card
are updated by the change's announcement (``delivery.on_incident_changed``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied

from integrations.feishu.actions import CardAction, CardResponse
from integrations.feishu.cards import SNOOZE_OPTIONS, incident_card
from integrations.feishu.identity import feishu_actor, how_to_link, linked_user
from oncall import lifecycle
from oncall.models import Incident
from oncall.permissions import visible_incidents
from oncall.timeline import Actor

# What the clicker reads when the action changed something.
DONE = {
    "claim": "Claimed by you",
    "unclaim": "Unclaimed: escalation resumes",
    "close": "Closed",
    "reopen": "Reopened: escalation starts again",
    "wake": "Woken up: the current level is notified again",
}


def handle(action: CardAction) -> CardResponse:
    """The handler of every incident button (registered in ``actions.HANDLERS``)."""
    incident = _incident(action)
    if incident is None:
        return CardResponse("This incident no longer exists.", "warning")
    user = linked_user(action.app, action.open_id)
    if user is None:
        return CardResponse(how_to_link(action.app), "warning")
    if action.name == "refresh":
        if not visible_incidents(user).filter(pk=incident.pk).exists():
            return _not_a_member(incident)
        return CardResponse("Up to date", "info", _card(incident))
    # The lifecycle service checks membership itself (PermissionDenied): no check here.
    actor = feishu_actor(user, action.app, message_id=action.message_id, via="card")
    return _perform(action, incident, actor)


def _perform(action: CardAction, incident: Incident, actor: Actor) -> CardResponse:
    try:
        outcome = _transition(action)(incident, actor)
    except PermissionDenied:
        return _not_a_member(incident)
    except lifecycle.TransitionRefused as refused:
        return _refused(incident, refused.message)
    except lifecycle.InvalidRequest as invalid:
        return CardResponse(invalid.message, "error", _card(incident))
    if not outcome.changed:
        return CardResponse(outcome.message, "info", _card(outcome.incident))
    text = DONE.get(action.name) or outcome.message
    return CardResponse(text, "success", _card(outcome.incident))


def _transition(action: CardAction) -> Callable[[Incident, Actor], lifecycle.Outcome]:
    if action.name == "snooze":
        duration = _snooze_duration(action)
        return lambda incident, actor: lifecycle.snooze(incident, actor, duration)
    return {
        "claim": lifecycle.claim,
        "unclaim": lifecycle.unclaim,
        "close": lifecycle.close,
        "reopen": lifecycle.reopen,
        "wake": lifecycle.wake,
    }[action.name]


def _snooze_duration(action: CardAction) -> timedelta:
    minutes = SNOOZE_OPTIONS.get(action.option or "")
    if minutes is None:
        raise lifecycle.InvalidRequest("Choose how long to snooze from the menu.")
    return timedelta(minutes=minutes)


def _incident(action: CardAction) -> Incident | None:
    try:
        public_id = uuid.UUID(str(action.value.get("incident", "")))
    except ValueError:
        return None
    return Incident.objects.select_related("channel").filter(public_id=public_id).first()


def _not_a_member(incident: Incident) -> CardResponse:
    return _refused(incident, f"You are not a member of the channel {incident.channel}.")


def _refused(incident: Incident, message: str) -> CardResponse:
    """A click that changes nothing still gets the card as it is now (it may be stale)."""
    incident.refresh_from_db()
    return CardResponse(message, "warning", _card(incident))


def _card(incident: Incident) -> dict[str, Any]:
    # Not stored for reuse (``rendered``): this copy was read before the change's version was
    # set, so a later change's version may already be the current one.
    return incident_card(incident)
