"""The URLs a Feishu app calls: events and card callbacks, the web app entry, OAuth.

Feishu re-sends an event it did not see answered within 3 s, and a card callback that takes
longer than 3 s fails in the user's face: these views authenticate, record a receipt, do at most
one small write, and leave anything slow (Open API calls) to tasks.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.feishu import actions, events
from integrations.feishu.callbacks import Callback, Rejected, open_callback
from integrations.feishu.cards import delivery
from integrations.feishu.models import CallbackReceipt, FeishuApp
from integrations.feishu.oauth import views as oauth_views

logger = logging.getLogger(__name__)


def _enabled_app(public_id: UUID) -> FeishuApp:
    app = FeishuApp.objects.filter(public_id=public_id, enabled=True).first()
    if app is None:
        raise Http404("No enabled Feishu app has this URL.")
    return app


def _error(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"error": reason}, status=status)


@csrf_exempt
@require_POST
def callback(request: HttpRequest, public_id: UUID) -> JsonResponse:
    """Events, card callbacks (both formats) and URL verification, on either of the app's URLs."""
    try:
        app = _enabled_app(public_id)
    except Http404 as exc:
        return _error(404, str(exc))
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.FEISHU_CALLBACK_MAX_BODY_BYTES:
        return _error(413, "The body is too large for a Feishu callback.")
    try:
        opened = open_callback(app, request.headers, request.body)
    except Rejected as rejected:
        logger.warning(
            "Feishu app %s: callback refused (%s): %s", app.pk, rejected.status, rejected.reason
        )
        return _error(rejected.status, rejected.reason)
    if opened.kind == "challenge":
        return JsonResponse({"challenge": opened.challenge})
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


def _event(app: FeishuApp, opened: Callback) -> JsonResponse:
    try:
        with transaction.atomic():
            if not _first_delivery(app, opened):
                return JsonResponse({})
            handled = events.handle(app, opened.type, opened.event)
    except ValueError as exc:
        # The receipt was rolled back with the rest: nothing of this event was kept.
        return _error(400, f"{opened.type}: {exc}.")
    if not handled:
        # 200 all the same, or Feishu keeps re-sending an event nobody here wants.
        logger.info("Feishu app %s: event type %s is not handled; ignored", app.pk, opened.type)
    return JsonResponse({})


def _card_callback(app: FeishuApp, opened: Callback) -> JsonResponse:
    try:
        action = actions.card_action(app, opened)
    except actions.MalformedAction as exc:
        return _error(400, f"Malformed card callback: {exc}.")
    if not _first_delivery(app, opened):
        # Feishu does not re-send card callbacks: this is a replay or a double delivery of one
        # click, and the click has already been acted on. Keep the card as it is.
        return JsonResponse({})
    try:
        response = actions.dispatch(action)
    except Exception:
        # The person sees Feishu's own failure toast otherwise; say something useful instead.
        logger.exception("Feishu app %s: card action %r failed", app.pk, action.name)
        response = actions.CardResponse(
            toast="Something went wrong on the on-call console; please try again.",
            toast_type="error",
        )
    if response.card is not None:
        # The answer replaces the clicked copy: the sync this click scheduled can skip it.
        delivery.record_shown(app, action.message_id, response.card)
    return JsonResponse(response.body(action.format))


def web_entry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The web app's homepage (desktop and mobile) that Feishu opens in its frame: the Feishu
    sign-in round trip, then ``?next=`` (a same-site path, e.g. an incident) or home."""
    return oauth_views.start_sign_in(request, _enabled_app(public_id))


def link(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Link, or switch, the signed-in user's Feishu account (from the linked-accounts page)."""
    return oauth_views.start_linking(request, _enabled_app(public_id))


def oauth_callback(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The OAuth redirect URL registered in the app's Security Settings: the round trip of
    account linking ends here."""
    return oauth_views.finish(request, _enabled_app(public_id))


def link_sign_in(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """ "Sign in to the console to link your Feishu account"."""
    return oauth_views.sign_in_to_link(request, _enabled_app(public_id))


def link_resume(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Where the console's login returns to, to link the Feishu identity waiting there."""
    return oauth_views.resume_after_sign_in(request, _enabled_app(public_id))
