"""The decisions of a platform sign-in's round trip, the same on every platform.

After the callback has taken the state and exchanged the code for an identity (the platform's
views do that, with its own refusals):

* a person whose identity is linked is signed in, login-free from then on, and lands on ``next``
  (deep links survive: ``next`` travelled in the state);
* a signed-in person without a link, or one who asked to link, is linked (a link that is someone
  else's is refused, also when a concurrent sign-in took it between the check and the write);
* anyone else is the platform's ``first_visit`` (typically: sign in to the console once, the
  identity waiting in the session, then ``resume_after_sign_in`` links it).

A platform subclasses ``SignInFlow`` with its provider, its linking storage and its problem pages.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from allauth.socialaccount.providers.base.constants import AuthProcess
from django.contrib.auth import login
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from integrations.chatkit.oauth import AppOAuth2Provider, safe_next

# The backend a platform sign-in is recorded with (the person proved who they are to the
# platform, not to a password backend).
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SignInFlow(ABC):
    provider_class: ClassVar[type[AppOAuth2Provider]]
    platform_name: ClassVar[str]  # in log lines: "Feishu app 3: …"

    # --- What the platform supplies -----------------------------------------------------------

    @abstractmethod
    def uid(self, identity: Any) -> str:
        """The identity's id in the app (what a link is unique by)."""

    @abstractmethod
    def linked_account(self, app: Any, uid: str) -> Any:
        """The link of ``uid`` in ``app`` (with its ``user``), or None."""

    @abstractmethod
    def refresh(self, account: Any, identity: Any) -> Any:
        """Keep the link's profile as the platform last described it."""

    @abstractmethod
    def link(self, user: AbstractBaseUser, app: Any, identity: Any) -> Any:
        """Link ``user`` to ``identity`` in ``app`` (raises ``IntegrityError`` when the
        identity was linked to someone else meanwhile)."""

    @abstractmethod
    def take_pending(self, request: HttpRequest, app: Any) -> tuple[Any, str] | None:
        """The identity waiting in the session for ``app``, and its ``next``, removed."""

    @abstractmethod
    def first_visit(
        self, request: HttpRequest, app: Any, identity: Any, next_url: str, state: dict[str, Any]
    ) -> HttpResponse:
        """An identity nobody is linked to, and nobody signed in."""

    @abstractmethod
    def taken(self, request: HttpRequest, app: Any, state: dict[str, Any]) -> HttpResponse:
        """The problem page: the identity is linked to another console user."""

    @abstractmethod
    def inactive(self, request: HttpRequest, app: Any, state: dict[str, Any]) -> HttpResponse:
        """The problem page: the console account is disabled."""

    @abstractmethod
    def state_invalid(self, request: HttpRequest, app: Any) -> HttpResponse:
        """The problem page: the sign-in expired, was used, or is another app's."""

    # --- The round trip ---------------------------------------------------------------------

    def start_linking(self, request: HttpRequest, app: Any) -> HttpResponse:
        """Link (or switch) the signed-in user's account for ``app``."""
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        next_url = safe_next(request.GET.get("next"), reverse("home"))
        provider = self.provider_class.for_app(request, app)
        return provider.redirect(request, AuthProcess.CONNECT, next_url)

    def identified(
        self, request: HttpRequest, app: Any, identity: Any, state: dict[str, Any]
    ) -> HttpResponse:
        """The callback knows who signed in: link or sign in, then on to ``next``."""
        next_url = safe_next(state.get("next"), reverse("home"))
        if state.get("process") == AuthProcess.CONNECT and request.user.is_authenticated:
            return self.connect(request, app, identity, next_url, state)
        return self.sign_in(request, app, identity, next_url, state)

    def connect(
        self, request: HttpRequest, app: Any, identity: Any, next_url: str, state: dict[str, Any]
    ) -> HttpResponse:
        existing = self.linked_account(app, self.uid(identity))
        if existing is not None and existing.user_id != request.user.pk:
            return self.taken(request, app, state)
        if self.link_safely(request.user, app, identity) is None:
            return self.taken(request, app, state)
        return redirect(next_url)

    def link_safely(self, user: AbstractBaseUser, app: Any, identity: Any) -> Any:
        """The new link; None when a concurrent sign-in linked the identity to someone else
        between our check and our write (the (app, uid) constraint refused it)."""
        try:
            account = self.link(user, app, identity)
        except IntegrityError:
            return None
        # Logged under the platform's module, as its other sign-in lines are.
        logger = logging.getLogger(type(self).__module__)
        logger.info("%s app %s: console user %s linked", self.platform_name, app.pk, user.pk)
        return account

    def sign_in(
        self, request: HttpRequest, app: Any, identity: Any, next_url: str, state: dict[str, Any]
    ) -> HttpResponse:
        existing = self.linked_account(app, self.uid(identity))
        if existing is not None:
            self.refresh(existing, identity)
            return self.log_in(request, app, existing.user, next_url, state)
        if request.user.is_authenticated:
            return self.connect(request, app, identity, next_url, state)
        return self.first_visit(request, app, identity, next_url, state)

    def log_in(
        self,
        request: HttpRequest,
        app: Any,
        user: AbstractBaseUser,
        next_url: str,
        state: dict[str, Any],
    ) -> HttpResponse:
        if not user.is_active:
            return self.inactive(request, app, state)
        login(request, user, backend=SESSION_BACKEND)
        return redirect(next_url)

    def resume_after_sign_in(self, request: HttpRequest, app: Any) -> HttpResponse:
        """Back from the console's login: link the waiting identity to the signed-in user, then
        on to the page first asked for."""
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        pending = self.take_pending(request, app)
        if pending is None:
            return self.state_invalid(request, app)
        identity, next_url = pending
        return self.connect(request, app, identity, next_url, {"process": AuthProcess.LOGIN})
