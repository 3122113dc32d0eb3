"""The callback URL of a Feishu app: events, card button clicks and URL verification.

Feishu re-sends an event it did not see answered within 3 s, and a card callback that takes
longer than 3 s fails in the user's face: this view authenticates, records a receipt, does at
most one small write, and leaves anything slow (Open API calls) to tasks.

A click goes to the handler ``CARD_ACTIONS`` lists for the button's action name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integrations.feishu import PLATFORM_NAME
from integrations.feishu.cards import delivery
from integrations.feishu.inbound import card_actions, events, incident_buttons
from integrations.feishu.inbound.callbacks import Callback, Rejected, open_callback
from integrations.feishu.inbound.card_actions import CardAction, CardResponse
from integrations.feishu.models import CallbackReceipt, FeishuApp
from oncall import jsonbody
from oncall.platforms import card_callback, counts_card_callbacks
from oncall.views.errors import json_methods

logger = logging.getLogger(__name__)

# The button's ``action`` name -> its handler.
CARD_ACTIONS: dict[str, Callable[[CardAction], CardResponse]] = {
    "claim": incident_buttons.handle,
    "unclaim": incident_buttons.handle,
    "close": incident_buttons.handle,
    "reopen": incident_buttons.handle,
    "snooze": incident_buttons.handle,
    "wake": incident_buttons.handle,
    "offer": incident_buttons.handle_offer,
}


# A click's outcome for /metrics, from the kind of toast its answer shows: the incident
# changed, was already so, the click was refused (not a member, not linked, a stale button),
# or the request was invalid (a snooze without a duration). "failed" is a handler's exception.
CLICK_OUTCOMES = {
    "success": "changed",
    "info": "unchanged",
    "warning": "refused",
    "error": "invalid",
}


@dataclass(frozen=True)
class Answer:
    """What Feishu gets back for one event or callback: the JSON ``data`` and the HTTP
    ``status`` it goes with (the request URLs send both; the long connection sends ``data`` as
    the frame's answer); for a card click, ``click``: its button and outcome, for /metrics."""

    data: dict[str, Any]
    status: int = 200
    click: tuple[str, str] | None = None


def _error(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


def _refused(status: int, reason: str, click: tuple[str, str] | None = None) -> Answer:
    return Answer({"error": reason}, status, click)


@csrf_exempt
@json_methods("POST")
@counts_card_callbacks(PLATFORM_NAME)
def callback(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """Events, card callbacks (both formats) and URL verification, on either of the app's URLs."""
    app = FeishuApp.objects.filter(public_id=public_id, enabled=True).first()
    if app is None:
        return _error(404, "No enabled Feishu app has this URL.")
    body = jsonbody.read_limited(request, settings.FEISHU_CALLBACK_MAX_BODY_BYTES)
    if body is None:
        return _error(413, "The body is too large for a Feishu callback.")
    try:
        opened = open_callback(app, request.headers, body)
    except Rejected as rejected:
        logger.warning(
            "Feishu app %s: callback refused (%s): %s", app.pk, rejected.status, rejected.reason
        )
        return _error(rejected.status, rejected.reason)
    found = answer(app, opened)
    response = JsonResponse(found.data, status=found.status)
    return card_callback(response, *found.click) if found.click else response


def answer(app: FeishuApp, opened: Callback) -> Answer:
    """Handle an authenticated event or callback and build the answer Feishu expects. The
    request URLs (above) and the long connection (``feishu_connect``) both end here."""
    if opened.kind == "challenge":
        return Answer({"challenge": opened.challenge})
    if opened.kind == "card":
        return _card_callback(app, opened)
    return _event(app, opened)


def _first_delivery(app: FeishuApp, opened: Callback) -> bool:
    """Record the receipt; False when this event or click was received before."""
    if CallbackReceipt.objects.record_first(app, opened.dedup_key, opened.type):
        return True
    logger.info(
        "Feishu app %s: %s %s received again; ignored", app.pk, opened.type, opened.dedup_key
    )
    return False


def _event(app: FeishuApp, opened: Callback) -> Answer:
    try:
        with transaction.atomic():
            if not _first_delivery(app, opened):
                return Answer({})
            handled = events.handle(app, opened.type, opened.event)
    except ValueError as exc:
        # The receipt was rolled back with the rest: nothing of this event was kept.
        return _refused(400, f"{opened.type}: {exc}.")
    if not handled:
        # 200 all the same, or Feishu keeps re-sending an event nobody here wants.
        logger.info("Feishu app %s: event type %s is not handled; ignored", app.pk, opened.type)
    return Answer({})


def _card_callback(app: FeishuApp, opened: Callback) -> Answer:
    try:
        action = card_actions.card_action(app, opened)
    except card_actions.MalformedAction as exc:
        return _refused(400, f"Malformed card callback: {exc}.", ("unknown", "malformed"))
    button = action.name if action.name in CARD_ACTIONS else "unknown"  # /metrics' label
    if not _first_delivery(app, opened):
        # Feishu does not re-send card callbacks: this is a replay or a double delivery of one
        # click, and the click has already been acted on. Keep the card as it is.
        return Answer({}, click=(button, "duplicate"))
    try:
        response = _dispatch(action)
        outcome = CLICK_OUTCOMES[response.toast_type]
    except Exception:
        # The person sees Feishu's own failure toast otherwise; say something useful instead.
        logger.exception("Feishu app %s: card action %r failed", app.pk, action.name)
        response = CardResponse(
            toast="Something went wrong on the on-call console; please try again.",
            toast_type="error",
        )
        outcome = "failed"
    if response.card is not None:
        # The answer replaces the clicked copy: the sync this click scheduled can skip it.
        delivery.record_shown(app, action.message_id, response.card)
    return Answer(response.body(action.format), click=(button, outcome))


def _dispatch(action: CardAction) -> CardResponse:
    """Run the handler of the button's ``action``. A click nobody handles (an old card, a
    foreign button) gets a toast saying so, not an error: Feishu shows errors as failures."""
    handler = CARD_ACTIONS.get(action.name)
    if handler is None:
        logger.info("Feishu card click with unknown action %r on app %s", action.name, action.app)
        return CardResponse(
            toast="This button is no longer available. The card may be out of date.",
            toast_type="warning",
        )
    return handler(action)
