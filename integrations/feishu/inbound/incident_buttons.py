"""Card buttons: claim, unclaim, close, reopen, snooze and wake, through the one
incident-lifecycle service, answered within Feishu's 3 s with a toast and the current card.

Nothing in the button is trusted: its value names an incident by public id, the clicker is
looked up by open_id among the app's linked accounts, and the lifecycle service checks what that
person may do. A click on a stale card (the action no longer fits the incident) gets the
current card and a toast saying what happened, never an error. A clicker who may not act on the
incident (not a member of its channel), or whose request is invalid before that is checked,
gets the refusal alone: the current card would show them another channel's incident. The other
copies of the card are updated by the change's announcement (``delivery.follow_change``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import translation
from django.utils.translation import gettext as _

from integrations.feishu.cards.render import incident_card
from integrations.feishu.cards.sample import EXAMPLE_INCIDENT_ID
from integrations.feishu.inbound.card_actions import CardAction, CardResponse
from integrations.feishu.inbound.identity import feishu_actor, how_to_link, linked_user
from oncall import lifecycle, offers
from oncall.durations import SNOOZE_PRESETS
from oncall.models import Incident
from oncall.timeline import Actor
from oncall.wording import DONE


def handle(action: CardAction) -> CardResponse:
    """The handler of every incident button (listed in ``endpoint.CARD_ACTIONS``). Its toasts
    are in the app's card language, like the card (the incident is not read before the
    lifecycle service locks it, so a channel's own card language is not asked here)."""
    with translation.override(action.app.language_for()):
        return _handle(action)


def _handle(action: CardAction) -> CardResponse:
    public_id = _public_id(action)
    if public_id is None:
        return _gone()
    if public_id == EXAMPLE_INCIDENT_ID:
        return _test_card()
    user = linked_user(action.app, action.open_id)
    if user is None:
        return CardResponse(how_to_link(action.app), "warning")
    # The lifecycle service reads the incident under its lock and checks membership itself
    # (PermissionDenied): nothing is read or checked here first, so a click costs one read.
    actor = feishu_actor(user, action.app, message_id=action.message_id, via="card")
    return _perform(action, public_id, actor)


def handle_offer(action: CardAction) -> CardResponse:
    """The handler of the buttons of actions the incident offers (``oncall.offers``): the
    button's value names the offer's key; ``offers.run_action`` checks the clicker may act and
    that the incident still offers it. The answer is the action's message and the current card
    (running an action may change what the card offers, a war room's link say)."""
    public_id = _public_id(action)
    key = action.value.get("key")
    if public_id is None or not isinstance(key, str):
        return _gone()
    incident = _incident(public_id)
    if incident is None:
        return _gone()
    user = linked_user(action.app, action.open_id)
    if user is None:
        return CardResponse(how_to_link(action.app), "warning")
    actor = feishu_actor(user, action.app, message_id=action.message_id, via="card")
    try:
        result = offers.run_action(incident, key, actor)
    except PermissionDenied as denied:
        return CardResponse(str(denied), "warning")
    except offers.InvalidOptions as invalid:
        return CardResponse(invalid.message, "error")
    except offers.UnknownAction as unknown:
        return _refused(incident, str(unknown), action)
    incident.refresh_from_db()
    toast_type = "success" if result.ok else "error"
    return CardResponse(result.message, toast_type, _card(incident, action))


def _perform(action: CardAction, public_id: uuid.UUID, actor: Actor) -> CardResponse:
    try:
        outcome = _transition(action)(public_id, actor)
    except Incident.DoesNotExist:
        return _gone()
    except PermissionDenied as denied:
        # No card, nothing read: Feishu keeps the clicked card as it is.
        return CardResponse(str(denied), "warning")
    except lifecycle.TransitionRefused as refused:
        # Refused after the membership check, under the lock: the clicker may see the card.
        incident = refused.incident or _incident(public_id)
        return _refused(incident, refused.message, action) if incident else _gone()
    except lifecycle.InvalidRequest as invalid:
        # Possibly refused before the membership check (a snooze's duration): no card.
        return CardResponse(invalid.message, "error")
    if not outcome.changed:
        return CardResponse(outcome.message, "info", _card(outcome.incident, action))
    return CardResponse(str(DONE[action.name]), "success", _card(outcome.incident, action))


def _transition(action: CardAction) -> Callable[[lifecycle.IncidentRef, Actor], lifecycle.Outcome]:
    if action.name == "snooze":
        duration = _snooze_duration(action)
        return lambda incident, actor: lifecycle.snooze(incident, actor, duration)
    return lifecycle.BY_NAME[action.name]


def _snooze_duration(action: CardAction) -> timedelta:
    minutes = SNOOZE_PRESETS.get(action.option or "")
    if minutes is None:
        raise lifecycle.InvalidRequest("Choose how long to snooze from the menu.")
    return timedelta(minutes=minutes)


def _public_id(action: CardAction) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(action.value.get("incident", "")))
    except ValueError:
        return None


def _incident(public_id: uuid.UUID) -> Incident | None:
    return Incident.objects.select_related("channel").filter(public_id=public_id).first()


def _gone() -> CardResponse:
    return CardResponse("This incident no longer exists.", "warning")


def _test_card() -> CardResponse:
    # In the app's card language (``handle``), as the card itself.
    return CardResponse(
        _(
            "This is a test card from the admin's “send a test card”: its buttons do "
            "nothing. On the card of a real incident they claim, snooze or close it."
        ),
        "info",
    )


def _refused(incident: Incident, message: str, action: CardAction) -> CardResponse:
    """A click that changes nothing still gets the card as it is now (it may be stale)."""
    return CardResponse(message, "warning", _card(incident, action))


def _card(incident: Incident, action: CardAction) -> dict[str, Any]:
    # Not stored for reuse (``render_cache``): this copy was read before the change's version was
    # set, so a later change's version may already be the current one.
    # The clicking app's images, those already uploaded only: Feishu waits for this answer.
    return incident_card(incident, app=action.app, upload_images=False)
