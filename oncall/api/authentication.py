"""``Authorization: Token <key>`` or ``Bearer <key>``: personal API tokens (``ApiToken``)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from oncall.models import ApiToken
from oncall.models.tokens import hash_api_key

SCHEMES = {b"token", b"bearer"}
# Writing last_used_at on every request would make every API read a write; once a minute is
# precise enough to tell an unused token.
LAST_USED_PRECISION = timedelta(minutes=1)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() not in SCHEMES:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Token <key>'.")
        # Looked up by SHA-256: the database compares digests, never the key itself.
        token = (
            ApiToken.objects.select_related("user")
            .filter(key_hash=hash_api_key(parts[1].decode(errors="replace")))
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        self._note_use(token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return "Token"

    def _note_use(self, token: ApiToken) -> None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "oncall.api.authentication.ApiTokenAuthentication"
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` or `Bearer <key>`",
        }
