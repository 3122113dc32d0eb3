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
from django.contrib.auth import login
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.views import redirect_to_login
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from integrations.chatkit.oauth import safe_next
from integrations.feishu.client import errors
from integrations.feishu.models import FeishuApp, LinkedAccount
from integrations.feishu.oauth import linking, problems
from integrations.feishu.oauth.problems import LinkProblem
from integrations.feishu.oauth.provider import FeishuIdentity, FeishuProvider

logger = logging.getLogger(__name__)

# The backend a Feishu sign-in is recorded with (the person proved who they are to Feishu).
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


# --- Starting the round trip ---------------------------------------------------------------


def start_sign_in(request: HttpRequest, app: FeishuApp) -> HttpResponse:
    """The web entry: Feishu's consent page, then back to ``next`` (or home), signed in."""
    next_url = safe_next(request.GET.get("next"), reverse("home"))
    return FeishuProvider.for_app(request, app).redirect(request, AuthProcess.LOGIN, next_url)


def start_linking(request: HttpRequest, app: FeishuApp) -> HttpResponse:
    """Link (or switch) the signed-in user's Feishu account for ``app``."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    next_url = safe_next(request.GET.get("next"), reverse("home"))
    return FeishuProvider.for_app(request, app).redirect(request, AuthProcess.CONNECT, next_url)


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
    next_url = safe_next(state.get("next"), reverse("home"))
    if state.get("process") == AuthProcess.CONNECT and request.user.is_authenticated:
        return _connect(request, app, identity, next_url, state)
    return _sign_in(request, app, identity, next_url, state)


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


def _connect(
    request: HttpRequest,
    app: FeishuApp,
    identity: FeishuIdentity,
    next_url: str,
    state: dict[str, Any],
) -> HttpResponse:
    existing = linking.linked_account(app, identity.open_id)
    if existing is not None and existing.user_id != request.user.pk:
        return problem_page(request, app, problems.LINKED_TO_SOMEONE_ELSE, state)
    if _link(request.user, app, identity) is None:
        return problem_page(request, app, problems.LINKED_TO_SOMEONE_ELSE, state)
    return redirect(next_url)


def _sign_in(
    request: HttpRequest,
    app: FeishuApp,
    identity: FeishuIdentity,
    next_url: str,
    state: dict[str, Any],
) -> HttpResponse:
    existing = linking.linked_account(app, identity.open_id)
    if existing is not None:
        linking.refresh(existing, identity)
        return _log_in(request, app, existing.user, next_url, state)
    if request.user.is_authenticated:
        return _connect(request, app, identity, next_url, state)
    user = linking.match_by_email(app, identity)
    if user is None and settings.FEISHU_CREATE_ACCOUNTS and not linking.is_staff_address(identity):
        user = linking.create_account(identity)
        logger.info("Feishu app %s: created console user %s for a new person", app.pk, user.pk)
    if user is None:
        linking.keep_pending(request, app, identity, next_url)
        return redirect("feishu:link-sign-in", app.public_id)
    if _link(user, app, identity) is None:
        return problem_page(request, app, problems.LINKED_TO_SOMEONE_ELSE, state)
    return _log_in(request, app, user, next_url, state)


def _link(user: AbstractBaseUser, app: FeishuApp, identity: FeishuIdentity) -> LinkedAccount | None:
    """The new link; None when a concurrent sign-in linked this open_id to someone else
    between our check and our write (the (app, open_id) constraint refused it)."""
    try:
        account = linking.link(user, app, identity)
    except IntegrityError:
        return None
    logger.info("Feishu app %s: console user %s linked", app.pk, user.pk)
    return account


def _log_in(
    request: HttpRequest,
    app: FeishuApp,
    user: AbstractBaseUser,
    next_url: str,
    state: dict[str, Any],
) -> HttpResponse:
    if not user.is_active:
        return problem_page(request, app, problems.ACCOUNT_INACTIVE, state)
    login(request, user, backend=SESSION_BACKEND)
    return redirect(next_url)


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


def resume_after_sign_in(request: HttpRequest, app: FeishuApp) -> HttpResponse:
    """Back from the console's login: link the waiting Feishu identity to the signed-in user."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    pending = linking.take_pending(request, app)
    if pending is None:
        return problem_page(request, app, problems.STATE_INVALID, None)
    identity, next_url = pending
    return _connect(request, app, identity, next_url, {"process": AuthProcess.LOGIN})


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
