"""The sandbox's sign-in, as DingTalk's (https://open.dingtalk.com/document/orgapp/
tutorial-obtaining-user-personal-information):

1. ``GET oauth2/auth?redirect_uri&response_type=code&client_id&scope=openid&state&prompt``
   (``login.dingtalk.com``): the sign-in page, where one chooses who one is among the
   organisation's members; the browser then goes to ``redirect_uri?authCode=...&state=...``.
2. ``POST v1.0/oauth2/userAccessToken`` ``{clientId, clientSecret, code, grantType}``: the
   code (once, within five minutes) for ``{accessToken, refreshToken, expireIn, corpId}``.
3. ``GET v1.0/contact/users/me`` with ``x-acs-dingtalk-access-token``: ``{nick, unionId,
   openId, email, mobile, avatarUrl, stateCode}``.
4. The legacy contacts API with the app's token: ``topapi/user/getbyunionid``,
   ``topapi/v2/user/getbymobile`` and ``topapi/v2/user/get``, each answering HTTP 200 with
   ``errcode`` (60121: no such member).
"""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from integrations.dingtalk_sandbox.api import error
from integrations.dingtalk_sandbox.models import (
    SandboxApp,
    SandboxAuthCode,
    SandboxToken,
    SandboxUser,
    SandboxUserToken,
    secret_hash,
)

CODE_LIFETIME = timedelta(minutes=5)
USER_TOKEN_LIFETIME = timedelta(seconds=7200)
NOT_FOUND = 60121
TOKEN_INVALID = 40014


# --- The sign-in page --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    query = request.GET
    app = SandboxApp.objects.filter(client_id=query.get("client_id", "")).first()
    problem = _authorize_problem(app, query)
    if problem:
        return render(request, "dingtalk_sandbox/authorize.html", {"problem": problem}, status=400)
    if request.method == "POST":
        user = SandboxUser.objects.filter(pk=request.POST.get("user") or 0).first()
        if user is not None:
            return HttpResponseRedirect(_back_to_app(app, user, query))
    people = SandboxUser.objects.all()
    return render(request, "dingtalk_sandbox/authorize.html", {"app": app, "people": people})


def _authorize_problem(app: SandboxApp | None, query) -> str:
    if app is None:
        return "client_id: no such app"
    if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
        return "response_type must be code and scope must include openid"
    if urlsplit(query.get("redirect_uri", "")).scheme not in ("http", "https"):
        return "redirect_uri must be an http(s) URL"
    return ""


def _back_to_app(app: SandboxApp, user: SandboxUser, query) -> str:
    code = secrets.token_hex(16)
    SandboxAuthCode.objects.create(
        app=app,
        user=user,
        code_hash=secret_hash(code),
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    answer = urlencode({"authCode": code, "state": query.get("state", "")})
    redirect_uri = query["redirect_uri"]
    return f"{redirect_uri}{'&' if '?' in redirect_uri else '?'}{answer}"


# --- The person's token and profile ------------------------------------------------------------


@csrf_exempt
@require_POST
def user_access_token(request: HttpRequest) -> JsonResponse:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return error(400, "invalidParameter", "the body is not JSON")
    if not isinstance(body, dict) or body.get("grantType") != "authorization_code":
        return error(400, "unsupported.grant.type")
    app = SandboxApp.objects.filter(client_id=str(body.get("clientId") or "")).first()
    secret = str(body.get("clientSecret") or "").encode()
    if app is None or not hmac.compare_digest(secret, app.client_secret.encode()):
        return error(400, "invalid.client")
    now = timezone.now()
    # One UPDATE decides who uses the code: two exchanges at once cannot both succeed.
    codes = SandboxAuthCode.objects.filter(
        app=app, code_hash=secret_hash(str(body.get("code") or "")), used=False, expires_at__gt=now
    )
    code = codes.first()
    if code is None or not codes.filter(pk=code.pk).update(used=True):
        return error(400, "invalid.authCode", "the code is unknown, expired or used")
    token = secrets.token_hex(16)
    SandboxUserToken.objects.create(
        app=app, user=code.user, token_hash=secret_hash(token), expires_at=now + USER_TOKEN_LIFETIME
    )
    lifetime = int(USER_TOKEN_LIFETIME.total_seconds())
    answer = {"accessToken": token, "refreshToken": secrets.token_hex(16), "expireIn": lifetime}
    return JsonResponse({**answer, "corpId": app.corp_id})


@require_GET
def users_me(request: HttpRequest) -> JsonResponse:
    token = request.headers.get("x-acs-dingtalk-access-token", "")
    found = SandboxUserToken.objects.select_related("user").filter(
        token_hash=secret_hash(token), expires_at__gt=timezone.now()
    )
    row = found.first()
    if not token or row is None:
        return error(401, "InvalidAuthentication", "the user access token is invalid")
    user = row.user
    profile = {"nick": user.name, "unionId": user.union_id, "openId": user.union_id[::-1]}
    return JsonResponse({**profile, "email": user.email, "avatarUrl": "", "stateCode": "86"})


# --- The legacy contacts API --------------------------------------------------------------------


def _legacy(request: HttpRequest) -> tuple[SandboxApp | None, dict]:
    """The app whose token is in the query, and the JSON body."""
    token = SandboxToken.objects.select_related("app").filter(
        token_hash=secret_hash(request.GET.get("access_token", "")), expires_at__gt=timezone.now()
    )
    row = token.first()
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        body = {}
    return (row.app if row else None), (body if isinstance(body, dict) else {})


def _member_answer(request: HttpRequest, field: str, key: str, detail: bool) -> JsonResponse:
    app, body = _legacy(request)
    if app is None:
        return JsonResponse({"errcode": TOKEN_INVALID, "errmsg": "不合法的access_token"})
    user = SandboxUser.objects.filter(**{field: str(body.get(key) or "")}).first()
    if user is None:
        return JsonResponse({"errcode": NOT_FOUND, "errmsg": "找不到该用户"})
    result = {"userid": user.user_id}
    if detail:
        extra = {"unionid": user.union_id, "name": user.name, "email": user.email}
        result.update(extra, mobile=user.mobile)
    return JsonResponse({"errcode": 0, "errmsg": "ok", "result": result})


@csrf_exempt
@require_POST
def user_by_unionid(request: HttpRequest) -> JsonResponse:
    return _member_answer(request, "union_id", "unionid", detail=False)


@csrf_exempt
@require_POST
def user_by_mobile(request: HttpRequest) -> JsonResponse:
    return _member_answer(request, "mobile", "mobile", detail=False)


@csrf_exempt
@require_POST
def user_detail(request: HttpRequest) -> JsonResponse:
    return _member_answer(request, "user_id", "userid", detail=True)
