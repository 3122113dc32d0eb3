"""``POST /open-apis/auth/v3/tenant_access_token/internal``: a custom app's tenant token, and
``POST /open-apis/auth/v3/app_access_token/internal``: its app token.

https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal
The answer is top-level (no ``data``): ``{"code": 0, "msg": "ok", "tenant_access_token",
"expire"}``. While the current token has 30 minutes or more left, Feishu returns that same token
with its remaining lifetime; below 30 minutes it issues a new one and both stay valid.
Errors: 10003 "invalid param" for a missing field or an unknown App ID, 10014 "app secret
invalid" for a wrong secret (codes seen in Lark's CLI and in SDK issue reports; older reports
show them with HTTP 200, we answer 400 like every other business error: clients branch on code).

The app token (https://open.feishu.cn/document/server-docs/authentication-management/access-token/app_access_token_internal)
follows the same rules and answers ``{"code": 0, "msg": "ok", "app_access_token", "expire"}``.
No sandbox API accepts it as a bearer token (Feishu's tenant-scoped APIs do not either); the
official SDK asks for it for the APIs that take one.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.feishu_sandbox.api import (
    TOKEN_LIFETIME,
    ApiError,
    Call,
    derived_tenant_token,
    enforce_app_limit,
    open_api,
)
from integrations.feishu_sandbox.models import AccessToken, SandboxApp, secret_hash

INVALID_PARAM = 10003
SECRET_INVALID = 10014
# Below this much remaining lifetime, a new token is issued instead of the current one.
REUSE_MIN_REMAINING = timedelta(minutes=30)
# Expired token rows are kept this long (the page's log may show them), then deleted.
EXPIRED_RETENTION = timedelta(days=1)


@open_api("auth.v3.tenant_access_token.internal", methods=["POST"], auth="none")
def tenant_access_token(call: Call) -> dict[str, Any]:
    app = check_credentials(call)
    enforce_app_limit(app.app_id, "auth.v3.tenant_access_token.internal")
    token, expires_at = current_or_new_token(app)
    expire = int((expires_at - timezone.now()).total_seconds())
    return {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": expire}


@open_api("auth.v3.app_access_token.internal", methods=["POST"], auth="none")
def app_access_token(call: Call) -> dict[str, Any]:
    app = check_credentials(call)
    enforce_app_limit(app.app_id, "auth.v3.app_access_token.internal")
    token, expires_at = current_or_new_token(app, AccessToken.Kind.APP)
    expire = int((expires_at - timezone.now()).total_seconds())
    return {"code": 0, "msg": "ok", "app_access_token": token, "expire": expire}


def check_credentials(call: Call) -> SandboxApp:
    app_id = call.body.get("app_id")
    app_secret = call.body.get("app_secret")
    if not isinstance(app_id, str) or not isinstance(app_secret, str) or not app_id:
        raise ApiError(INVALID_PARAM, "invalid param")
    call.app_id = app_id[:64]
    app = SandboxApp.objects.filter(app_id=app_id).first()
    if app is None:
        raise ApiError(INVALID_PARAM, "invalid param")
    if not hmac.compare_digest(app_secret.encode(), app.app_secret.encode()):
        raise ApiError(SECRET_INVALID, "app secret invalid")
    return app


def current_or_new_token(app: SandboxApp, kind: str = AccessToken.Kind.TENANT) -> tuple[str, Any]:
    """The app's token of ``kind`` with 30 min or more left, or a new one (see the module
    docstring)."""
    now = timezone.now()
    candidates = AccessToken.objects.filter(
        app=app, kind=kind, expires_at__gte=now + REUSE_MIN_REMAINING
    ).order_by("-expires_at")
    for row in candidates:
        token = derived_tenant_token(app, row.pk, int(row.expires_at.timestamp()), kind=kind)
        # A row issued under a former App Secret no longer derives to its hash: skip it.
        if secret_hash(token) == row.token_hash:
            return token, row.expires_at
    return issue_token(app, now, kind)


@transaction.atomic
def issue_token(app: SandboxApp, now: Any, kind: str = AccessToken.Kind.TENANT) -> tuple[str, Any]:
    """A new token. Its row comes first, under a random placeholder hash: the token derives
    from the row's id, so two tokens issued in the same second still differ."""
    expires_at = (now + TOKEN_LIFETIME).replace(microsecond=0)
    row = AccessToken.objects.create(
        token_hash=secrets.token_hex(32),
        kind=kind,
        app=app,
        expires_at=expires_at,
    )
    token = derived_tenant_token(app, row.pk, int(expires_at.timestamp()), kind=kind)
    row.token_hash = secret_hash(token)
    row.save(update_fields=["token_hash"])
    AccessToken.objects.filter(expires_at__lt=now - EXPIRED_RETENTION).delete()
    return token, expires_at
