"""A click on a DingTalk card's button for an action the incident offers beyond its lifecycle
(``oncall.offers``: "Open a DingTalk war room", a channel's custom action): the button's id is
``offer:<key>``. ``offers.run_action`` checks that the clicker may act on the incident's channel
and that the incident still offers the action, then runs it as any surface does; the answer is
the action's own words as a toast. Every copy of the card then shows what changed (a war room's
link, the button gone) through the change's announcement, as for every other click."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.utils.translation import gettext

from oncall import offers, platforms
from oncall.models import Incident
from oncall.timeline import Actor

ACTION = "offer"


def _toast(kind: str, text: str, outcome: str) -> JsonResponse:
    response = JsonResponse({"toast": {"type": kind, "content": text}})
    return platforms.card_callback(response, ACTION, outcome)  # type: ignore[return-value]


def run(incident_id: int, actor: Actor, key: str) -> JsonResponse:
    """Run the offered action ``key`` on the incident as ``actor`` (a card runs it without
    options: an action that takes people takes none from a card)."""
    incident = Incident.objects.select_related("channel").filter(pk=incident_id).first()
    if incident is None:
        return _toast("warning", gettext("This incident no longer exists."), "gone")
    try:
        result = offers.run_action(incident, key, actor)
    except PermissionDenied as denied:
        return _toast("warning", str(denied), "refused")
    except offers.InvalidOptions as invalid:
        return _toast("warning", invalid.message, "refused")
    except offers.UnknownAction as unknown:
        return _toast("warning", str(unknown), "refused")
    if result.ok:
        return _toast("success", result.message, "changed")
    return _toast("warning", result.message, "refused")
