"""The DingTalk OAuth2 provider, built on allauth's OAuth2 classes.

allauth's bundled ``dingtalk`` provider is one global ``SocialApp`` on DingTalk's hosts. Here
every ``DingTalkApp`` is its own OAuth client: ``DingTalkProvider.for_app`` wraps an in-memory
``SocialApp`` with that app's Client ID / Client Secret, and its ``provider_id``
(``dingtalk_app:<public_id>``) is what allauth's state store binds each ``state`` to, so a state
issued for one app is refused at another app's callback (``chatkit.oauth``, shared with the other
platforms). Hosts come from the app (DingTalk, the
sandbox or the admin's override); the code exchange and the profile go through the console's
``DingTalkClient`` (SSRF guard, typed errors, secrets kept out of logs).

DingTalk's sign-in has no PKCE: the state (random, single use, 10 minutes, in the session) and
the Client Secret, sent only from the server, are what protect the code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from django.http import HttpRequest

from integrations.chatkit.oauth import AppOAuth2Adapter, AppOAuth2Provider
from integrations.dingtalk.models import DingTalkApp

PROVIDER_ID = "dingtalk_app"


@dataclass(frozen=True)
class DingTalkIdentity:
    """Who signed in, as ``/v1.0/contact/users/me`` describes them, and their userid in the
    app's organisation when the contacts API found it."""

    union_id: str
    user_id: str = ""
    name: str = ""
    email: str = ""
    avatar_url: str = ""

    @classmethod
    def from_profile(cls, data: dict[str, Any], user_id: str = "") -> DingTalkIdentity:
        """From ``users/me``'s answer (``unionId``, ``nick``, ``email``, ``avatarUrl``)."""
        return cls(
            union_id=str(data.get("unionId") or ""),
            user_id=user_id,
            name=str(data.get("nick") or ""),
            email=str(data.get("email") or ""),
            avatar_url=str(data.get("avatarUrl") or ""),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DingTalkIdentity:
        """From ``as_dict()``'s output (kept in the session)."""
        return cls(**{key: str(data.get(key) or "") for key in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class DingTalkOAuth2Adapter(AppOAuth2Adapter[DingTalkApp]):
    """The OAuth2 endpoints and calls of one ``DingTalkApp``."""

    provider_id = PROVIDER_ID

    @property
    def authorize_url(self) -> str:  # type: ignore[override]
        return self.platform_app.hosts.login + "/oauth2/auth"

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        return self.platform_app.hosts.api + "/v1.0/oauth2/userAccessToken"

    @property
    def profile_url(self) -> str:
        return self.platform_app.hosts.api + "/v1.0/contact/users/me"

    def get_callback_url(self, request: HttpRequest, app: SocialApp) -> str:
        return self.platform_app.oauth_redirect_url

    def exchange_code(self, code: str) -> SocialToken:
        """Trade the authorization code (once) for the person's token. Raises
        ``DingTalkError``."""
        token = self.platform_app.client().user_access_token(code)
        self.did_fetch_access_token = True
        return SocialToken(token=token)

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        """The signed-in person as an (unsaved) ``SocialLogin``. Raises ``DingTalkError``."""
        profile = self.platform_app.client().current_user(token.token)
        return self.get_provider().sociallogin_from_response(request, profile)


class DingTalkProvider(AppOAuth2Provider[DingTalkApp]):
    """Sign in with DingTalk through one ``DingTalkApp``."""

    id = PROVIDER_ID
    name = "DingTalk"
    oauth2_adapter_class = DingTalkOAuth2Adapter
    pkce_enabled_default = False
    uid_field = "unionId"

    @classmethod
    def credentials(cls, platform_app: DingTalkApp) -> tuple[str, str]:
        return platform_app.client_id, platform_app.client_secret

    def consent_url(self, state_id: str, code_challenge: str | None) -> str:
        app = self.platform_app
        return app.client().authorize_url(app.hosts.login, app.oauth_redirect_url, state_id)

    def extract_extra_data(self, data: dict[str, Any]) -> dict[str, str]:
        return DingTalkIdentity.from_profile(data).as_dict()

    def extract_common_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        identity = DingTalkIdentity.from_profile(data)
        return {"name": identity.name, "email": identity.email or None}
