"""The sandbox's robot interactive cards, as DingTalk answers them:

* ``POST /v1.0/im/v1.0/robot/interactiveCards/send``: a ``StandardCard`` from the app's robot
  (``robotCode`` is the app's Client ID) to one person (``singleChatReceiver``, a JSON text
  ``{"userId": ...}``) or to a group where the app's cool app is installed
  (``openConversationId``); answers ``{"processQueryKey"}``. DingTalk holds one card per
  ``cardBizId`` (the outTrackId): sending an id again posts nothing and answers the same key.
  A scene group the app made from its group template takes the template's group bot instead
  (``robotCode`` its Bot ID).
* ``PUT /v1.0/im/robots/interactiveCards``: new ``cardData`` for the card ``cardBizId``.
* ``POST /topapi/im/chat/scencegroup/interactivecard/callback/register?access_token=``: the
  legacy API (``errcode``); the card callback URL for a route key.

The current API's calls carry the token in ``x-acs-dingtalk-access-token``; a missing, unknown
or expired token is 401 ``InvalidAuthentication``, as DingTalk answers it. Errors are
``{"code", "message", "requestid"}`` with the HTTP status DingTalk gives the kind of error.
"""

from __future__ import annotations

import json
import secrets

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from integrations.dingtalk_sandbox.api import error
from integrations.dingtalk_sandbox.models import (
    SandboxApp,
    SandboxCard,
    SandboxCardCallback,
    SandboxGroup,
    SandboxToken,
    secret_hash,
)

STANDARD_CARD = "StandardCard"


def _app_of(token: str) -> SandboxApp | None:
    if not token:
        return None
    row = (
        SandboxToken.objects.select_related("app")
        .filter(token_hash=secret_hash(token), expires_at__gt=timezone.now())
        .first()
    )
    return row.app if row else None


def _body(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _card_data(body: dict) -> dict | None:
    try:
        data = json.loads(body.get("cardData") or "")
    except (TypeError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@csrf_exempt
@require_POST
def send_card(request: HttpRequest) -> JsonResponse:
    app = _app_of(request.headers.get("x-acs-dingtalk-access-token", ""))
    if app is None:
        return error(401, "InvalidAuthentication", "不合法的access_token")
    body = _body(request)
    if body is None:
        return error(400, "invalidParameter", "the body is not a JSON object")
    if body.get("cardTemplateId") != STANDARD_CARD:
        return error(400, "invalidParameter.cardTemplateId", "the sandbox knows StandardCard")
    if body.get("robotCode") not in (app.client_id, app.group_bot_id):
        return error(400, "invalidParameter.robotCode", "robotCode is not this app's robot")
    biz_id = body.get("cardBizId")
    data = _card_data(body)
    if not isinstance(biz_id, str) or not biz_id or data is None:
        return error(400, "invalidParameter", "cardBizId and cardData (a JSON text) are needed")
    existing = SandboxCard.objects.filter(app=app, card_biz_id=biz_id).first()
    if existing is not None:
        return JsonResponse({"processQueryKey": existing.process_query_key})
    target = _target(app, body)
    if isinstance(target, JsonResponse):
        return target
    card = SandboxCard.objects.create(
        app=app,
        card_biz_id=biz_id,
        process_query_key=secrets.token_urlsafe(24),
        route_key=str(body.get("callbackRouteKey") or ""),
        data=data,
        **target,
    )
    return JsonResponse({"processQueryKey": card.process_query_key})


def _target(app: SandboxApp, body: dict) -> dict | JsonResponse:
    group_id = body.get("openConversationId")
    if group_id:
        group = SandboxGroup.objects.filter(open_conversation_id=group_id).first()
        if group is None or not _robot_in(group, app, str(body.get("robotCode"))):
            return error(
                400, "invalidParameter.openConversationId", "the app's robot is not in the group"
            )
        return {"group": group}
    try:
        user_id = json.loads(body.get("singleChatReceiver") or "")["userId"]
    except (TypeError, ValueError, KeyError):
        user_id = None
    if not isinstance(user_id, str) or not user_id:
        return error(400, "invalidParameter", "openConversationId or singleChatReceiver is needed")
    return {"user_id": user_id}


def _robot_in(group: SandboxGroup, app: SandboxApp, robot_code: str) -> bool:
    """The app's robot is in a group where its cool app is installed; the template's group bot
    is in the scene groups the app made from its template (a war room), and only there."""
    if group.template_app_id is not None:
        return group.template_app_id == app.pk and robot_code == group.robot_code
    return robot_code == app.client_id and group.installed_apps.filter(pk=app.pk).exists()


@csrf_exempt
@require_http_methods(["PUT"])
def update_card(request: HttpRequest) -> JsonResponse:
    app = _app_of(request.headers.get("x-acs-dingtalk-access-token", ""))
    if app is None:
        return error(401, "InvalidAuthentication", "不合法的access_token")
    body = _body(request) or {}
    data = _card_data(body)
    card = SandboxCard.objects.filter(app=app, card_biz_id=body.get("cardBizId") or "").first()
    if card is None or data is None:
        return error(400, "invalidParameter.cardBizId", "no card has this cardBizId")
    card.data = data
    card.updates += 1
    card.save(update_fields=["data", "updates", "updated_at"])
    return JsonResponse({"success": True})


@csrf_exempt
@require_POST
def register_card_callback(request: HttpRequest) -> JsonResponse:
    app = _app_of(request.GET.get("access_token", ""))
    if app is None:
        return JsonResponse({"errcode": 40014, "errmsg": "不合法的access_token"})
    body = _body(request) or {}
    url, key = body.get("callback_url"), body.get("callbackRouteKey")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or not key:
        return JsonResponse({"errcode": 400002, "errmsg": "callback_url and callbackRouteKey"})
    SandboxCardCallback.objects.update_or_create(app=app, route_key=str(key), defaults={"url": url})
    return JsonResponse({"errcode": 0, "errmsg": "ok", "result": {"callback_url": url}})
