"""The sandbox's DingTalk API: ``POST /v1.0/oauth2/{corpId}/token``, an internal app's access
token (https://open.dingtalk.com/document/development/api-gettoken).

Success is ``{"access_token", "expires_in": 7200}``. Errors are the page's table, each an HTTP
status and ``{"code", "message", "requestid"}`` as the current API answers: 400
``invalid.client`` for an unknown Client ID or a wrong secret, 400 ``unsupported.grant.type``
for a grant type other than ``client_credentials``, 401 ``unauthorized.client`` when the app is
not in the organisation named by the path's CorpId. Each call issues a new token (stored hashed),
valid for two hours; DingTalk may hand back the same one while it is valid, which a client must
not rely on either way.
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from datetime import timedelta

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integrations.dingtalk_sandbox.models import SandboxApp, SandboxToken, secret_hash

TOKEN_LIFETIME = timedelta(seconds=7200)
# Expired token rows are kept this long, then deleted when a new token is issued.
EXPIRED_RETENTION = timedelta(days=1)


def error(status: int, code: str, message: str | None = None) -> JsonResponse:
    body = {"code": code, "message": message or code, "requestid": uuid.uuid4().hex.upper()}
    return JsonResponse(body, status=status)


@csrf_exempt
@require_POST
def access_token(request: HttpRequest, corp_id: str) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalidParameter", "the body is not JSON")
    if not isinstance(body, dict):
        return error(400, "invalidParameter", "the body must be a JSON object")
    if body.get("grant_type") != "client_credentials":
        return error(400, "unsupported.grant.type")
    client_id, client_secret = body.get("client_id"), body.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        return error(400, "invalid.client")
    app = SandboxApp.objects.filter(client_id=client_id).first()
    if app is None or not hmac.compare_digest(client_secret.encode(), app.client_secret.encode()):
        return error(400, "invalid.client")
    if app.corp_id != corp_id:
        return error(401, "unauthorized.client")
    token = issue_token(app)
    return JsonResponse({"access_token": token, "expires_in": int(TOKEN_LIFETIME.total_seconds())})


def issue_token(app: SandboxApp) -> str:
    now = timezone.now()
    token = secrets.token_hex(16)
    SandboxToken.objects.create(
        app=app, token_hash=secret_hash(token), expires_at=now + TOKEN_LIFETIME
    )
    SandboxToken.objects.filter(expires_at__lt=now - EXPIRED_RETENTION).delete()
    return token
