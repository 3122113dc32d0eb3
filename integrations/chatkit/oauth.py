"""Signing in with a chat platform, one OAuth client per platform app, on allauth's OAuth2 classes.

allauth's bundled providers (``feishu``, ``dingtalk``, …) are one global ``SocialApp`` each. Here
every platform app row is its own OAuth client: ``AppOAuth2Provider.for_app`` wraps an in-memory
``SocialApp`` carrying that app's credentials, and its ``provider_id`` (``<id>:<public_id>``) is
what allauth's state store binds each ``state`` to, so a state issued for one app is refused at
another app's callback. The providers are deliberately not in allauth's registry: their apps are
the platform's rows, not ``SocialApp`` rows.

A platform subclasses the adapter (its endpoints, its code exchange and profile call through its
own client) and the provider (its id, name, credentials, consent URL and profile fields). What
the round trip shares is here too: the state taken once (``take_state``), ``safe_next`` that keeps
deep links on this site, and the identity waiting in the session while its person signs in to the
console to link it (``PendingIdentity``).
"""

from __future__ import annotations

import time
from typing import Any, Generic, Protocol, Self, TypeVar

from allauth.socialaccount.models import SocialApp
from allauth.socialaccount.providers.base import ProviderAccount
from allauth.socialaccount.providers.base.constants import AuthProcess
from allauth.socialaccount.providers.oauth2.provider import OAuth2Provider
from allauth.socialaccount.providers.oauth2.utils import generate_code_challenge
from allauth.socialaccount.providers.oauth2.views import OAuth2Adapter
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme


class OAuthApp(Protocol):
    """What the toolkit reads of a platform's app row."""

    pk: Any
    public_id: Any
    name: str


AppT = TypeVar("AppT", bound=OAuthApp)


class AppAccount(ProviderAccount):
    """A linked account, named as the platform's profile names the person."""

    def to_str(self) -> str:
        return self.account.extra_data.get("name") or super().to_str()


class AppOAuth2Adapter(OAuth2Adapter, Generic[AppT]):
    """The OAuth2 endpoints and calls of one platform app (``platform_app``), made by its
    provider (``AppOAuth2Provider.get_oauth2_adapter``). Subclasses set ``provider_id``, the
    three URLs, ``get_callback_url`` (the URL registered with the platform, exactly),
    ``exchange_code`` and ``complete_login``."""

    def __init__(self, request: HttpRequest, provider: AppOAuth2Provider[AppT]):
        super().__init__(request)
        self.provider = provider
        self.platform_app: AppT = provider.platform_app

    def get_provider(self) -> AppOAuth2Provider[AppT]:
        return self.provider


class AppOAuth2Provider(OAuth2Provider, Generic[AppT]):
    """Sign in through one platform app. Subclasses set ``id``, ``name``, ``account_class``,
    ``oauth2_adapter_class``, ``pkce_enabled_default`` and ``uid_field``, say which of the app's
    fields are its OAuth client id and secret (``credentials``) and where its consent page is
    (``consent_url``), and read the profile (``extract_extra_data``, …)."""

    account_class = AppAccount
    uid_field: str  # the profile's key of the person's id in the app
    oauth2_adapter_class: type[AppOAuth2Adapter]  # type: ignore[assignment]

    def __init__(self, request: HttpRequest, app: SocialApp, platform_app: AppT):
        super().__init__(request, app)
        self.platform_app = platform_app

    @classmethod
    def credentials(cls, platform_app: Any) -> tuple[str, str]:
        """The app's OAuth client id and client secret."""
        raise NotImplementedError(f"{cls.__name__} names its app's OAuth credentials")

    @classmethod
    def for_app(cls, request: HttpRequest, platform_app: Any) -> Self:
        client_id, secret = cls.credentials(platform_app)
        social_app = SocialApp(
            provider=cls.id,
            provider_id=f"{cls.id}:{platform_app.public_id}",
            name=platform_app.name,
            client_id=client_id,
            secret=secret,
        )
        return cls(request, social_app, platform_app)

    def get_oauth2_adapter(self, request: HttpRequest) -> AppOAuth2Adapter:
        return self.oauth2_adapter_class(request, self)

    def consent_url(self, state_id: str, code_challenge: str | None) -> str:
        """The app's consent page for ``state_id`` (and the PKCE S256 challenge, when the
        platform uses PKCE)."""
        raise NotImplementedError(f"{type(self).__name__} names its consent page")

    def redirect(
        self,
        request: HttpRequest,
        process: str = AuthProcess.LOGIN,
        next_url: str | None = None,
        data: dict | None = None,
        **kwargs: Any,
    ) -> HttpResponseRedirect:
        """Stash a fresh state in the session and send the browser to the app's consent page.
        With PKCE (``pkce_enabled_default``) the state keeps the verifier: it never leaves the
        session; only its S256 does."""
        challenge: str | bytes | None = None
        extra: dict[str, Any] = {}
        if self.pkce_enabled_default:
            pkce = generate_code_challenge()
            extra["pkce_code_verifier"] = pkce["code_verifier"]
            challenge = pkce["code_challenge"]
        state_id = self.stash_redirect_state(request, process, next_url, data, **extra)
        if isinstance(challenge, bytes):
            challenge = challenge.decode("ascii")
        return HttpResponseRedirect(self.consent_url(state_id, challenge))

    def extract_uid(self, data: dict[str, Any]) -> str:
        return str(data.get(self.uid_field) or "")

    def take_state(self, request: HttpRequest) -> dict[str, Any] | None:
        """The stashed state named by ``?state=``, consumed: a second use finds nothing, and
        neither does another app's callback (the state is bound to this ``provider_id``)."""
        state_id = request.GET.get("state")
        if not state_id:
            return None
        try:
            return self.unstash_redirect_state(request, state_id)
        except PermissionDenied:
            return None


def safe_next(value: str | None, default: str) -> str:
    """``value`` when it is a same-site relative path (``/incidents/…``), else ``default``: a
    ``next`` pointing elsewhere would make the sign-in an open redirect."""
    if (
        value
        and value.startswith("/")
        and not value.startswith(("//", "/\\"))
        and url_has_allowed_host_and_scheme(value, allowed_hosts=None)
    ):
        return value
    return default


class PendingIdentity:
    """An identity (as a dict) waiting in the session under ``session_key``, never in a URL,
    while its person signs in to the console to link it; for one app, with the ``next`` the
    round trip carried, and no older than the caller's ``max_age`` (as long as an OAuth state
    lives: the person signs in locally right after the round trip)."""

    def __init__(self, session_key: str):
        self.session_key = session_key

    def keep(self, request: HttpRequest, app: OAuthApp, identity: dict, next_url: str) -> None:
        request.session[self.session_key] = {
            "app": str(app.public_id),
            "identity": identity,
            "next": next_url,
            "at": time.time(),
        }

    def take(
        self, request: HttpRequest, app: OAuthApp, max_age: float
    ) -> tuple[dict[str, Any], str] | None:
        """The identity and its ``next``, removed from the session; None when there is none,
        it is another app's, or it is older than ``max_age`` seconds."""
        pending = self._read(request, app, max_age)
        request.session.pop(self.session_key, None)
        if pending is None:
            return None
        return pending["identity"], str(pending.get("next") or "/")

    def peek(self, request: HttpRequest, app: OAuthApp, max_age: float) -> dict[str, Any] | None:
        """The identity, left in the session."""
        pending = self._read(request, app, max_age)
        return None if pending is None else pending["identity"]

    def _read(self, request: HttpRequest, app: OAuthApp, max_age: float) -> dict[str, Any] | None:
        pending: Any = request.session.get(self.session_key)
        if not isinstance(pending, dict) or pending.get("app") != str(app.public_id):
            return None
        if time.time() - float(pending.get("at") or 0) > max_age:
            return None
        if not isinstance(pending.get("identity"), dict):
            return None
        return pending
