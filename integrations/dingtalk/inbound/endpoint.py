"""The event subscription request URL of a DingTalk app (HTTP push).

DingTalk counts a push as failed unless it gets, within 1.5 s, the encrypted and signed
``"success"`` (``crypto.sealed_answer``): this view authenticates, records receipts, does at
most one small write and answers. The same answer completes the check-URL handshake DingTalk
makes when an admin saves the URL.

Every signed request is remembered (``EventReceipt``): a second copy of a request the console
already accepted is a replay, refused with 409 and nothing stored. DingTalk signs a push when it
sends it (the timestamp is the sending time), and when it pushes an *event* again (a new
request, the same ``eventId``) the event is answered "success" and not acted on twice. Were
DingTalk ever to resend a byte-identical request whose first answer it missed, that request was
acted on already: refusing the copy loses nothing. A refused push stores nothing: the receipts
are written in the transaction that handles the event, and rolled back with it.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations.dingtalk.client import crypto
from integrations.dingtalk.inbound import events
from integrations.dingtalk.inbound.push import Push, Refused, open_push
from integrations.dingtalk.models import DingTalkApp, EventReceipt
from oncall import jsonbody
from oncall.views.errors import json_methods

logger = logging.getLogger(__name__)

SUCCESS = "success"
NONCE_LENGTH = 16


class Replayed(Exception):
    """This very request was accepted before."""


def _refusal(status: int, code: str, reason: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": reason}}, status=status)


@csrf_exempt
@json_methods("POST")
def event_subscription(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """Event pushes and the check-URL handshake."""
    app = DingTalkApp.objects.filter(public_id=public_id, enabled=True).first()
    if app is None:
        return _refusal(404, "unknown_app", "No enabled DingTalk app has this URL.")
    body = jsonbody.read_limited(request, settings.DINGTALK_EVENT_MAX_BODY_BYTES)
    if body is None:
        return _refusal(413, "too_large", "The body is too large for a DingTalk event push.")
    try:
        push = open_push(app, request.GET, body)
    except Refused as refused:
        logger.warning(
            "DingTalk app %s: push refused (%s %s): %s",
            app.pk,
            refused.status,
            refused.code,
            refused.reason,
        )
        return _refusal(refused.status, refused.code, refused.reason)
    try:
        _accept(app, push)
    except Replayed:
        logger.warning("DingTalk app %s: a %s push was received before; refused", app.pk, push.type)
        return _refusal(409, "replayed", "This signed request was received before (a replay).")
    except ValueError as exc:
        # The receipts were rolled back with the rest: nothing of this push was kept.
        return _refusal(400, "malformed", f"{push.type}: {exc}.")
    return success(app)


def _accept(app: DingTalkApp, push: Push) -> None:
    """Record the receipts and act on the push, in one transaction."""
    with transaction.atomic():
        if not EventReceipt.objects.record_first(app, push.request_key, "request"):
            raise Replayed
        now = timezone.now()
        if push.is_check:
            DingTalkApp.objects.filter(pk=app.pk).update(url_verified_at=now)
            logger.info("DingTalk app %s: request URL checked by DingTalk", app.pk)
            return
        DingTalkApp.objects.filter(pk=app.pk).update(last_event_at=now)
        if not EventReceipt.objects.record_first(app, push.event_key, push.type):
            logger.info("DingTalk app %s: %s pushed again; not acted on twice", app.pk, push.type)
            return
        if not events.handle(app, push.type, push.payload):
            # "success" all the same, or DingTalk keeps pushing an event nobody here wants.
            logger.info("DingTalk app %s: event type %s is not handled; ignored", app.pk, push.type)


def success(app: DingTalkApp) -> JsonResponse:
    """The encrypted, signed ``"success"`` DingTalk waits for."""
    answer = crypto.sealed_answer(
        app.aes_key,
        app.client_id,
        app.signature_token,
        SUCCESS,
        timestamp=str(int(timezone.now().timestamp() * 1000)),
        nonce=crypto.random_text(NONCE_LENGTH),
    )
    return JsonResponse(answer)
