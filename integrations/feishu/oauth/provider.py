"""The Feishu / Lark OAuth2 provider, built on allauth's OAuth2 classes.

allauth's bundled ``feishu`` provider speaks the legacy endpoints, one host and one global
``SocialApp``. Here every ``FeishuApp`` is its own OAuth client: ``FeishuProvider.for_app`` wraps
an in-memory ``SocialApp`` carrying that app's App ID / App Secret, and its ``provider_id``
(``feishu_app:<public_id>``) is what allauth's state store binds each ``state`` to, so a state
issued for one app is refused at another app's callback (``chatkit.oauth``, shared with the other
platforms). Hosts come from the app (Feishu, Lark,
the sandbox or the admin's override); the token exchange and ``user_info`` go through the
console's ``FeishuClient`` so rate limits, typed errors and secret redaction are shared.

The provider is deliberately not in allauth's provider registry: its apps are ``FeishuApp`` rows,
not ``SocialApp`` rows, and identities are kept as ``LinkedAccount`` rows (see ``linking``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialApp, SocialLogin, SocialToken
from django.http import HttpRequest

from integrations.chatkit.oauth import AppAccount, AppOAuth2Adapter, AppOAuth2Provider
from integrations.feishu.models import FeishuApp

PROVIDER_ID = "feishu_app"
AUTHORIZE_PATH = "/open-apis/authen/v1/authorize"
TOKEN_PATH = "/open-apis/authen/v2/oauth/token"  # noqa: S105 (a path, not a secret)
USER_INFO_PATH = "/open-apis/authen/v1/user_info"


@dataclass(frozen=True)
class FeishuIdentity:
    """Who signed in, as ``/open-apis/authen/v1/user_info`` describes them."""

    open_id: str
    union_id: str = ""
    user_id: str = ""
    name: str = ""
    email: str = ""
    enterprise_email: str = ""
    avatar_url: str = ""

    @classmethod
    def from_user_info(cls, data: dict[str, Any]) -> FeishuIdentity:
        """From user_info's ``data`` (or ``as_dict()``'s output, kept in the session)."""
        return cls(**{key: str(data.get(key) or "") for key in cls.__dataclass_fields__})

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    @property
    def emails(self) -> list[str]:
        """The addresses this person may be matched by, without duplicates or blanks."""
        found: list[str] = []
        for email in (self.email, self.enterprise_email):
            if email and email.lower() not in (e.lower() for e in found):
                found.append(email)
        return found


class FeishuAccount(AppAccount):
    def get_avatar_url(self) -> str | None:
        return self.account.extra_data.get("avatar_url") or None


class FeishuOAuth2Adapter(AppOAuth2Adapter[FeishuApp]):
    """The OAuth2 endpoints and calls of one ``FeishuApp``."""

    provider_id = PROVIDER_ID

    @property
    def authorize_url(self) -> str:  # type: ignore[override]
        return self.platform_app.accounts_base + AUTHORIZE_PATH

    @property
    def access_token_url(self) -> str:  # type: ignore[override]
        return self.platform_app.open_api_base + TOKEN_PATH

    @property
    def profile_url(self) -> str:
        return self.platform_app.open_api_base + USER_INFO_PATH

    def get_callback_url(self, request: HttpRequest, app: SocialApp) -> str:
        # The URL registered in the app's Security Settings, exactly: Feishu compares strings.
        return self.platform_app.redirect_url

    def exchange_code(self, code: str, code_verifier: str | None) -> SocialToken:
        """Trade the authorization code (once) for a user token. Raises ``FeishuError``."""
        client = self.platform_app.client()
        data = client.exchange_code(code, self.platform_app.redirect_url, code_verifier)
        self.did_fetch_access_token = True
        return self.parse_token(data)

    def complete_login(
        self, request: HttpRequest, app: SocialApp, token: SocialToken, **kwargs: Any
    ) -> SocialLogin:
        """The signed-in Feishu user as an (unsaved) ``SocialLogin``. Raises ``FeishuError``."""
        info = self.platform_app.client().user_info(token.token)
        note_contact_fields(self.platform_app, info)
        return self.get_provider().sociallogin_from_response(request, info)


def note_contact_fields(app: FeishuApp, info: dict) -> None:
    """Remember whether Feishu's user info carried ``email`` and ``mobile``: it leaves each
    out when the app lacks its scope, and matching people by email needs the email. "Check
    configuration" reports it. Written only when it changes."""
    has_email, has_mobile = "email" in info, "mobile" in info
    if (app.user_info_has_email, app.user_info_has_mobile) == (has_email, has_mobile):
        return
    app.user_info_has_email, app.user_info_has_mobile = has_email, has_mobile
    FeishuApp.objects.filter(pk=app.pk).update(
        user_info_has_email=has_email, user_info_has_mobile=has_mobile
    )


class FeishuProvider(AppOAuth2Provider[FeishuApp]):
    """Sign in with Feishu or Lark through one ``FeishuApp`` (PKCE S256 always on)."""

    id = PROVIDER_ID
    name = "Feishu / Lark"
    account_class = FeishuAccount
    oauth2_adapter_class = FeishuOAuth2Adapter
    pkce_enabled_default = True
    uid_field = "open_id"

    @classmethod
    def credentials(cls, platform_app: FeishuApp) -> tuple[str, str]:
        return platform_app.app_id, platform_app.app_secret

    def consent_url(self, state_id: str, code_challenge: str | None) -> str:
        app = self.platform_app
        return app.client().authorize_url(app.redirect_url, state_id, code_challenge)

    def extract_extra_data(self, data: dict[str, Any]) -> dict[str, str]:
        return FeishuIdentity.from_user_info(data).as_dict()

    def extract_common_fields(self, data: dict[str, Any]) -> dict[str, Any]:
        identity = FeishuIdentity.from_user_info(data)
        return {
            "name": identity.name,
            "email": identity.emails[0] if identity.emails else None,
            # The tenant verifies the addresses Feishu returns (see linking.match_by_email).
            "email_verified": bool(identity.emails),
        }

    def extract_email_addresses(self, data: dict[str, Any]) -> list[EmailAddress]:
        emails = FeishuIdentity.from_user_info(data).emails
        return [
            EmailAddress(email=email, verified=True, primary=index == 0)
            for index, email in enumerate(emails)
        ]
