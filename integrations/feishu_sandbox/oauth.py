"""OAuth: the sandbox is also ``accounts.feishu.cn`` (the consent page) for Sandbox apps.

- ``GET|POST /open-apis/authen/v1/authorize``: instead of a Feishu login, a page lists the
  directory's people; choosing one signs in as them and redirects with ``code`` and ``state``;
  Cancel redirects with ``error=access_denied`` (and ``state``), as Feishu does
  (https://open.feishu.cn/document/authentication-management/access-token/obtain-oauth-code).
  An unknown client_id or a redirect_uri not registered for the app shows an error page (20029
  is Feishu's code for the latter).
- ``POST /open-apis/authen/v2/oauth/token``: code (5 min, once) for a ``u-`` token; errors in
  the v2 style ``{"code", "error", "error_description"}`` with Feishu's codes
  (https://open.feishu.cn/document/authentication-management/access-token/get-user-access-token).
  A person outside the app's availability gets 20010 here, at the exchange, as documented.
- ``GET /open-apis/authen/v1/user_info`` with the ``u-`` token.

Codes and tokens are stored as SHA-256 hashes only.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from integrations.feishu_sandbox.api import (
    TOKEN_LIFETIME,
    ApiError,
    Call,
    enforce_app_limit,
    open_api,
    record_call,
    success,
    tenant_key,
)
from integrations.feishu_sandbox.models import (
    EMAIL_SCOPE,
    PHONE_SCOPE,
    AccessToken,
    AuthorizationCode,
    SandboxApp,
    SandboxUser,
    secret_hash,
)

INVALID_REQUEST = 20001
REDIRECT_URI_INVALID = 20029
APP_NOT_FOUND = 20048
PKCE_METHODS = ("S256", "plain")


# --- The consent page -------------------------------------------------------------------------


class AuthorizeError(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class AuthorizeRequest:
    """The query of an authorize URL, checked against the app's settings."""

    app: SandboxApp
    redirect_uri: str
    state: str | None
    # Stored in S256 form whatever the method: S256(verifier) is then compared at exchange.
    s256_challenge: str


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    client_id = request.GET.get("client_id", "")
    try:
        auth = parse_authorize_request(request)
    except AuthorizeError as error:
        record_call(request, client_id[:64], 400, error.code)
        context = {"error_code": error.code, "error_message": error.message}
        return render(request, "feishu_sandbox/authorize.html", context, status=400)
    if request.method == "POST":
        response = answer_consent(request, auth)
        if response is not None:
            record_call(request, auth.app.app_id, response.status_code, 0)
            return response
    record_call(request, auth.app.app_id, 200, 0)
    return render(request, "feishu_sandbox/authorize.html", consent_context(auth))


def parse_authorize_request(request: HttpRequest) -> AuthorizeRequest:
    query = request.GET
    app = SandboxApp.objects.filter(app_id=query.get("client_id", "")).first()
    if app is None:
        raise AuthorizeError(APP_NOT_FOUND, "The app (client_id) does not exist.")
    redirect_uri = query.get("redirect_uri", "")
    if not redirect_uri or redirect_uri not in (app.redirect_urls or []):
        raise AuthorizeError(
            REDIRECT_URI_INVALID,
            "The redirect_uri is not one of the app's redirect URLs (Security Settings).",
        )
    if query.get("response_type", "code") != "code":
        raise AuthorizeError(INVALID_REQUEST, "response_type must be code.")
    return AuthorizeRequest(
        app=app,
        redirect_uri=redirect_uri,
        state=query.get("state"),
        s256_challenge=s256_challenge_of(
            query.get("code_challenge", ""), query.get("code_challenge_method") or "plain"
        ),
    )


def s256_challenge_of(challenge: str, method: str) -> str:
    if not challenge:
        return ""
    if method not in PKCE_METHODS:
        raise AuthorizeError(INVALID_REQUEST, "code_challenge_method must be S256 or plain.")
    return challenge if method == "S256" else s256(challenge)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii", errors="replace")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def consent_context(auth: AuthorizeRequest) -> dict[str, Any]:
    people = [
        {"person": person, "available": auth.app.is_available_to(person)}
        for person in SandboxUser.objects.order_by("name", "pk")
    ]
    return {"app": auth.app, "people": people}


def answer_consent(request: HttpRequest, auth: AuthorizeRequest) -> HttpResponse | None:
    """Cancel, or sign in as the chosen person; None when the form chose nobody."""
    if "cancel" in request.POST:
        return HttpResponseRedirect(
            with_query(auth.redirect_uri, {"error": "access_denied"} | state_of(auth))
        )
    person = SandboxUser.objects.filter(pk=request.POST.get("user") or 0).first()
    if person is None:
        return None
    code = issue_code(auth, person)
    return HttpResponseRedirect(with_query(auth.redirect_uri, {"code": code} | state_of(auth)))


def state_of(auth: AuthorizeRequest) -> dict[str, str]:
    # Feishu sends state back only when the authorize URL had one.
    return {"state": auth.state} if auth.state is not None else {}


def with_query(url: str, params: dict[str, str]) -> str:
    """``url`` with ``params`` added to its query, before any #fragment (as Feishu does)."""
    base, hash_mark, fragment = url.partition("#")
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{urlencode(params)}{hash_mark}{fragment}"


def issue_code(auth: AuthorizeRequest, person: SandboxUser) -> str:
    code = secrets.token_urlsafe(48)
    AuthorizationCode.objects.create(
        code_hash=secret_hash(code),
        app=auth.app,
        user=person,
        redirect_uri=auth.redirect_uri,
        code_challenge=auth.s256_challenge,
    )
    return code


# --- The token exchange -----------------------------------------------------------------------


def oauth_error(code: int, error: str, description: str, *, status: int = 400) -> ApiError:
    payload = {"code": code, "error": error, "error_description": description}
    return ApiError(code, description, status=status, payload=payload)


@open_api("authen.v2.oauth.token", methods=["POST"], auth="none")
def token(call: Call) -> dict[str, Any]:
    grant_type = call.body.get("grant_type")
    if not grant_type:
        raise oauth_error(INVALID_REQUEST, "invalid_request", "grant_type is missing.")
    if grant_type != "authorization_code":
        raise oauth_error(20036, "unsupported_grant_type", "The grant_type is not supported.")
    fields = {key: call.body.get(key) for key in ("client_id", "client_secret", "code")}
    missing = [key for key, value in fields.items() if not isinstance(value, str) or not value]
    if missing:
        raise oauth_error(INVALID_REQUEST, "invalid_request", f"Missing: {', '.join(missing)}.")
    app = authenticate_client(call, fields["client_id"], fields["client_secret"])
    enforce_app_limit(app.app_id, "authen.v2.oauth.token")
    grant = redeemable_code(app, fields["code"], call.body)
    user_token = issue_user_token(app, grant.user)
    return {
        "code": 0,
        "access_token": user_token,
        "expires_in": int(TOKEN_LIFETIME.total_seconds()),
        "token_type": "Bearer",
        # The sandbox keeps no scopes with its codes; no refresh_token without offline_access.
        "scope": "",
    }


def authenticate_client(call: Call, client_id: str, client_secret: str) -> SandboxApp:
    call.app_id = client_id[:64]
    app = SandboxApp.objects.filter(app_id=client_id).first()
    if app is None:
        raise oauth_error(APP_NOT_FOUND, "invalid_client", "The specified app does not exist.")
    if not hmac.compare_digest(client_secret.encode(), app.app_secret.encode()):
        raise oauth_error(20002, "invalid_client", "The client secret is invalid.")
    return app


def redeemable_code(app: SandboxApp, code: str, body: dict[str, Any]) -> AuthorizationCode:
    """The code's row, checked in Feishu's terms and marked used (once, even under races)."""
    grant = (
        AuthorizationCode.objects.filter(code_hash=secret_hash(code)).select_related("user").first()
    )
    if grant is None:
        raise oauth_error(20003, "invalid_grant", "The authorization code is not found.")
    if grant.app_id != app.pk:
        raise oauth_error(
            20024, "invalid_grant", "The authorization code does not match the client ID."
        )
    if grant.used:
        raise oauth_error(20065, "invalid_grant", "The authorization code has been used.")
    if timezone.now() - grant.created_at > AuthorizationCode.VALID_FOR:
        raise oauth_error(20004, "invalid_grant", "The authorization code has expired.")
    if body.get("redirect_uri") != grant.redirect_uri:
        raise oauth_error(
            20071,
            "invalid_grant",
            "The redirect URI does not match the one used during authorization.",
        )
    check_pkce(grant, body.get("code_verifier"))
    if not app.is_available_to(grant.user):
        raise oauth_error(
            20010, "invalid_grant", "The user does not have permission to use this app."
        )
    if not AuthorizationCode.objects.filter(pk=grant.pk, used=False).update(used=True):
        raise oauth_error(20065, "invalid_grant", "The authorization code has been used.")
    return grant


def check_pkce(grant: AuthorizationCode, verifier: Any) -> None:
    if not grant.code_challenge:
        return
    if not isinstance(verifier, str) or not hmac.compare_digest(
        s256(verifier).encode(), grant.code_challenge.encode()
    ):
        raise oauth_error(20049, "invalid_grant", "PKCE code challenge failed.")


def issue_user_token(app: SandboxApp, person: SandboxUser) -> str:
    value = "u-" + secrets.token_urlsafe(32)
    AccessToken.objects.create(
        token_hash=secret_hash(value),
        kind=AccessToken.Kind.USER,
        app=app,
        user=person,
        expires_at=timezone.now() + TOKEN_LIFETIME,
    )
    return value


# --- The signed-in user -----------------------------------------------------------------------


@open_api("authen.v1.user_info", methods=["GET"], auth="user")
def user_info(call: Call) -> dict[str, Any]:
    app, person = call.app, call.user
    assert app is not None
    assert person is not None
    avatar = person.avatar_url
    return success(
        {
            "name": person.name,
            "en_name": person.name,
            "avatar_url": avatar,
            "avatar_thumb": avatar,
            "avatar_middle": avatar,
            "avatar_big": avatar,
            "open_id": app.open_id_of(person),
            "union_id": person.union_id,
            "enterprise_email": "",
            "user_id": person.user_id,
            "tenant_key": tenant_key(),
            "employee_no": "",
            **granted_contact_fields(app, person),
        }
    )


def granted_contact_fields(app: SandboxApp, person: SandboxUser) -> dict[str, str]:
    """``email`` and ``mobile`` come only with their scopes; without one, Feishu leaves the
    field out of the answer (it does not send it empty)."""
    fields = {}
    if EMAIL_SCOPE in app.scopes:
        fields["email"] = person.email
    if PHONE_SCOPE in app.scopes:
        fields["mobile"] = person.mobile
    return fields
