"""The card callback URL of a DingTalk app: a click on an incident card's button.

DingTalk calls back the URL registered under the card's ``callbackRouteKey`` (``POST
/topapi/im/chat/scencegroup/interactivecard/callback/register``) with the click: the card's id
(``outTrackId``), the clicker's ``userId`` and ``content``, a JSON text whose
``cardPrivateData.actionIds`` names the button. The console takes the click sealed and signed
with the app's event subscription keys, as its event pushes are (``push.open_sealed``: the
signature first, then the timestamp's window, then the aes_key and the Client ID), and refuses
a second copy of a signed request (a replay) with 409.

Nothing in the click is trusted: the incident is the one of the card the console sent with that
id (``DingTalkSentCard``), the clicker is looked up by userId among the app's linked accounts
(``DingTalkAccount``), and the lifecycle service checks what that person may do. The answer is
200 with a toast in words (``{"toast": {"type", "content"}}``) within DingTalk's 3 s; every
copy of the card, the clicked one too, is updated by the change's announcement
(``delivery.follow_change``).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import translation
from django.utils.translation import gettext
from django.views.decorators.csrf import csrf_exempt

from integrations.dingtalk import PLATFORM_NAME
from integrations.dingtalk.inbound import offered_action
from integrations.dingtalk.inbound.push import Refused, open_sealed
from integrations.dingtalk.models import (
    DingTalkAccount,
    DingTalkApp,
    DingTalkSentCard,
    EventReceipt,
)
from oncall import jsonbody, lifecycle, platforms
from oncall.durations import SNOOZE_PRESETS
from oncall.languages import card_language
from oncall.models import Incident
from oncall.timeline import Actor
from oncall.views.errors import json_methods
from oncall.wording import DONE

logger = logging.getLogger(__name__)

ACTIONS = frozenset({"claim", "unclaim", "close", "reopen", "wake", "snooze", "offer"})


def _refusal(status: int, code: str, reason: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": reason}}, status=status)


def _toast(kind: str, text: str, action: str, outcome: str) -> JsonResponse:
    response = JsonResponse({"toast": {"type": kind, "content": text}})
    return platforms.card_callback(response, action or "unknown", outcome)  # type: ignore[return-value]


@csrf_exempt
@json_methods("POST")
@platforms.counts_card_callbacks(PLATFORM_NAME)
def card_callback(request: HttpRequest, public_id: UUID) -> JsonResponse:
    app = DingTalkApp.objects.filter(public_id=public_id, enabled=True).first()
    if app is None:
        return _refusal(404, "unknown_app", "No enabled DingTalk app has this URL.")
    body = jsonbody.read_limited(request, settings.DINGTALK_EVENT_MAX_BODY_BYTES)
    if body is None:
        return _refusal(413, "too_large", "The body is too large for a card callback.")
    try:
        sealed = open_sealed(app, request.GET, body)
        track_id, user_id, action = click_of(sealed.payload)
    except Refused as refused:
        logger.warning("DingTalk app %s: card callback refused: %s", app.pk, refused.reason)
        return _refusal(refused.status, refused.code, refused.reason)
    if not EventReceipt.objects.record_first(app, sealed.request_key, "card_callback"):
        return _refusal(409, "replayed", "This signed request was received before (a replay).")
    return perform(app, track_id, user_id, action)


def click_of(payload: dict[str, Any]) -> tuple[str, str, str]:
    """(outTrackId, userId, the button's action) of a click; ``Refused`` 400 without them."""
    track_id, user_id, content = (payload.get(k) for k in ("outTrackId", "userId", "content"))
    if not isinstance(track_id, str) or not track_id or not isinstance(user_id, str):
        raise Refused(400, "malformed", "A card callback carries outTrackId and userId.")
    try:
        private = json.loads(content) if isinstance(content, str) else content
        action_ids = private["cardPrivateData"]["actionIds"]
    except (ValueError, TypeError, KeyError):
        raise Refused(400, "malformed", "The content has no cardPrivateData.actionIds.") from None
    if not isinstance(action_ids, list) or not action_ids or not isinstance(action_ids[0], str):
        raise Refused(400, "malformed", "The content has no cardPrivateData.actionIds.")
    return track_id, user_id, action_ids[0]


def perform(app: DingTalkApp, track_id: str, user_id: str, action: str) -> JsonResponse:
    """Apply a verified click (by HTTP, or by Stream: ``stream.card_clicks``) as its clicker.
    The answer is in the card's language (``oncall.languages.card_language``: the incident's
    channel's, else the console's), as the card it answers is."""
    name, _, option = action.partition(":")
    copy = (
        DingTalkSentCard.objects.filter(out_track_id=track_id, delivery__app=app)
        .select_related("delivery__incident__channel")
        .first()
    )
    incident = copy.delivery.incident if copy is not None else None
    with translation.override(card_language(incident)):
        if copy is None or name not in ACTIONS:
            words = gettext("This card is not one the console can act on.")
            return _toast("warning", words, name, "gone")
        account = (
            DingTalkAccount.objects.filter(app=app, dingtalk_user_id=user_id)
            .exclude(dingtalk_user_id="")
            .select_related("user")
            .first()
        )
        if account is None or not account.user.is_active:
            return _toast("warning", not_linked_words(app), name, "not_linked")
        actor = Actor(account.user, PLATFORM_NAME, {"app": str(app.public_id), "card": track_id})
        return _transition(copy.delivery.incident_id, actor, name, option)


def not_linked_words(app: DingTalkApp) -> str:
    return gettext(
        "Your DingTalk account is not linked to the console: open %(app)s once from the "
        "DingTalk workbench (%(url)s) to link it."
    ) % {"app": app.name, "url": app.homepage_url}


def _transition(incident_id: int, actor: Actor, name: str, option: str) -> JsonResponse:
    if name == "offer":
        return offered_action.run(incident_id, actor, option)
    try:
        with transaction.atomic():
            if name == "snooze":
                minutes = SNOOZE_PRESETS.get(option)
                if minutes is None:
                    raise lifecycle.InvalidRequest(gettext("Choose how long to snooze."))
                outcome = lifecycle.snooze(incident_id, actor, timedelta(minutes=minutes))
            else:
                outcome = lifecycle.BY_NAME[name](incident_id, actor)
    except PermissionDenied as denied:
        return _toast("warning", str(denied), name, "refused")
    except lifecycle.LifecycleError as refused:
        return _toast("warning", getattr(refused, "message", str(refused)), name, "refused")
    except Incident.DoesNotExist:
        return _toast("warning", gettext("This incident no longer exists."), name, "gone")
    if not outcome.changed:
        return _toast("info", outcome.message, name, "unchanged")
    return _toast("success", str(DONE[name]), name, "changed")
