"""The sign-in round trip: the web entry (or "link") sends the browser to Feishu's consent page,
the callback exchanges the code, and ``linking`` decides whose account it is.

State and PKCE are allauth's (``Provider.stash_redirect_state`` / ``unstash_redirect_state``):
the state is random, kept in the session, bound to the app, single-use and valid for 10 minutes;
the PKCE verifier stays in that stashed state. Failures render ``feishu/oauth_problem.html``;
logs name the failure and Feishu's code, never a code, token or secret.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from allauth.socialaccount.providers.base.constants import AuthProcess
from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from integrations.chatkit.oauth import safe_next
from integrations.chatkit.sign_in import SignInFlow
from integrations.feishu.client import errors
from integrations.feishu.models import FeishuApp, LinkedAccount
from integrations.feishu.oauth import linking, problems
from integrations.feishu.oauth.problems import LinkProblem
from integrations.feishu.oauth.provider import FeishuIdentity, FeishuProvider

logger = logging.getLogger(__name__)

# --- Starting the round trip ---------------------------------------------------------------


def start_sign_in(request: HttpRequest, app: FeishuApp) -> HttpResponse:
    """The web entry: Feishu's consent page, then back to ``next`` (or home), signed in."""
    next_url = safe_next(request.GET.get("next"), reverse("home"))
    return FeishuProvider.for_app(request, app).redirect(request, AuthProcess.LOGIN, next_url)


class FeishuSignIn(SignInFlow):
    """The round trip's decisions (``chatkit.sign_in``) with Feishu's links and problem pages;
    a first visit is matched by e-mail, or given a new account, or signs in to link."""

    provider_class = FeishuProvider
    platform_name = "Feishu"

    def uid(self, identity: FeishuIdentity) -> str:
        return identity.open_id

    def linked_account(self, app: FeishuApp, uid: str) -> LinkedAccount | None:
        return linking.linked_account(app, uid)

    def refresh(self, account: LinkedAccount, identity: FeishuIdentity) -> LinkedAccount:
        return linking.refresh(account, identity)

    def link(self, user: AbstractBaseUser, app: FeishuApp, identity: FeishuIdentity) -> Any:
        return linking.link(user, app, identity)

    def take_pending(
        self, request: HttpRequest, app: FeishuApp
    ) -> tuple[FeishuIdentity, str] | None:
        return linking.take_pending(request, app)

    def first_visit(
        self,
        request: HttpRequest,
        app: FeishuApp,
        identity: FeishuIdentity,
        next_url: str,
        state: dict[str, Any],
    ) -> HttpResponse:
        user = linking.match_by_email(app, identity)
        if (
            user is None
            and settings.FEISHU_CREATE_ACCOUNTS
            and not linking.is_staff_address(identity)
        ):
            user = linking.create_account(identity)
            logger.info("Feishu app %s: created console user %s for a new person", app.pk, user.pk)
        if user is None:
            linking.keep_pending(request, app, identity, next_url)
            return redirect("feishu:link-sign-in", app.public_id)
        if self.link_safely(user, app, identity) is None:
            return self.taken(request, app, state)
        return self.log_in(request, app, user, next_url, state)

    def taken(self, request: HttpRequest, app: FeishuApp, state: dict[str, Any]) -> HttpResponse:
        return problem_page(request, app, problems.LINKED_TO_SOMEONE_ELSE, state)

    def inactive(self, request: HttpRequest, app: FeishuApp, state: dict[str, Any]) -> HttpResponse:
        return problem_page(request, app, problems.ACCOUNT_INACTIVE, state)

    def state_invalid(self, request: HttpRequest, app: FeishuApp) -> HttpResponse:
        return problem_page(request, app, problems.STATE_INVALID, None)


FLOW = FeishuSignIn()
start_linking = FLOW.start_linking
resume_after_sign_in = FLOW.resume_after_sign_in


# --- The callback --------------------------------------------------------------------------


def finish(request: HttpRequest, app: FeishuApp) -> HttpResponse:
    """The OAuth redirect URL: check the state, exchange the code once, then link or sign in."""
    provider = FeishuProvider.for_app(request, app)
    state = provider.take_state(request)
    if request.GET.get("error"):
        problem = problems.from_authorize_error(request.GET["error"])
        return problem_page(request, app, problem, state)
    if state is None:
        return problem_page(request, app, problems.STATE_INVALID, None)
    try:
        identity = _identify(request, provider, state)
    except errors.FeishuError as exc:
        return problem_page(request, app, problems.from_feishu_error(exc), state, exc)
    if not identity.open_id:
        return problem_page(request, app, problems.NO_IDENTITY, state)
    return FLOW.identified(request, app, identity, state)


def _identify(
    request: HttpRequest, provider: FeishuProvider, state: dict[str, Any]
) -> FeishuIdentity:
    code = request.GET.get("code")
    if not code:
        raise errors.PermanentError("the callback has no code", code=20003)
    adapter = provider.get_oauth2_adapter(request)
    token = adapter.exchange_code(code, state.get("pkce_code_verifier"))
    sociallogin = adapter.complete_login(request, provider.app, token)
    return FeishuIdentity.from_user_info(sociallogin.account.extra_data)


# --- Signing in locally to link --------------------------------------------------------------


def sign_in_to_link(request: HttpRequest, app: FeishuApp) -> HttpResponse:
    """ "Sign in to the console to link your Feishu account", for a Feishu user the console
    could not match. The identity waits in the session; the login continues at ``resume``."""
    identity = linking.peek_pending(request, app)
    if identity is None:
        return redirect("feishu:web", app.public_id)
    resume_url = reverse("feishu:link-resume", args=[app.public_id])
    login_url = reverse(settings.LOGIN_URL) + "?" + urlencode({"next": resume_url})
    context = {"app": app, "identity": identity, "login_url": login_url}
    return render(request, "feishu/link_sign_in.html", context)


# --- Problems ----------------------------------------------------------------------------------


def problem_page(
    request: HttpRequest,
    app: FeishuApp,
    problem: LinkProblem,
    state: dict[str, Any] | None,
    exc: errors.FeishuError | None = None,
) -> HttpResponse:
    """The page of a failed sign-in, with a link that starts it again the same way."""
    logger.warning(
        "Feishu app %s: sign-in failed: %s (%s, Feishu code %s)",
        app.pk,
        problem.kind,
        type(exc).__name__ if exc else "-",
        exc.code if exc else None,
    )
    context = {"app": app, "problem": problem, "retry_url": _retry_url(app, state)}
    return render(request, "feishu/oauth_problem.html", context, status=problem.status)


def _retry_url(app: FeishuApp, state: dict[str, Any] | None) -> str:
    state = state or {}
    name = "feishu:link" if state.get("process") == AuthProcess.CONNECT else "feishu:web"
    url = reverse(name, args=[app.public_id])
    next_url = state.get("next")
    if next_url and next_url != reverse("home"):
        url += "?" + urlencode({"next": next_url})
    return url
