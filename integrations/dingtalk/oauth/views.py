"""The sign-in round trip: the homepage URL (or "Link") sends the browser to DingTalk's consent
page, the callback exchanges the code, and ``linking`` decides whose account it is.

* a linked person is signed in (login-free from then on) and lands on ``next``;
* a signed-in person without a link is linked;
* anyone else signs in to the console once, and the identity waiting in the session is linked.

State is allauth's (``Provider.stash_redirect_state`` / ``unstash_redirect_state``): random,
kept in the session, bound to the app, single-use and valid for 10 minutes; ``next`` travels in
it, so deep links survive the round trip. Failures answer a page with the reason and a status;
logs name the failure and DingTalk's code, never a code, token or secret.
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
from django.utils.translation import gettext as _

from integrations.chatkit.oauth import safe_next
from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkApp
from integrations.dingtalk.oauth import linking
from integrations.dingtalk.oauth.provider import DingTalkIdentity, DingTalkProvider

logger = logging.getLogger(__name__)

# The backend a DingTalk sign-in is recorded with (the person proved who they are to DingTalk).
SESSION_BACKEND = "django.contrib.auth.backends.ModelBackend"


def start_sign_in(request: HttpRequest, app: DingTalkApp) -> HttpResponse:
    """The homepage URL: signed in already with a link, straight to ``next``; otherwise
    DingTalk's consent page, then back to ``next`` (or home), signed in."""
    next_url = safe_next(request.GET.get("next"), reverse("home"))
    if request.user.is_authenticated and linking.account_of(request.user, app) is not None:
        return redirect(next_url)
    return DingTalkProvider.for_app(request, app).redirect(request, AuthProcess.LOGIN, next_url)


def start_linking(request: HttpRequest, app: DingTalkApp) -> HttpResponse:
    """Link (or switch) the signed-in user's DingTalk account for ``app``."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    next_url = safe_next(request.GET.get("next"), reverse("home"))
    return DingTalkProvider.for_app(request, app).redirect(request, AuthProcess.CONNECT, next_url)


def finish(request: HttpRequest, app: DingTalkApp) -> HttpResponse:
    """The OAuth redirect URL: check the state, exchange the code once, then link or sign in."""
    provider = DingTalkProvider.for_app(request, app)
    state = provider.take_state(request)
    if state is None:
        return problem(request, app, 400, "state", _("This sign-in link expired or was used."))
    code = request.GET.get("authCode") or request.GET.get("code")
    if not code:
        return problem(request, app, 400, "no_code", _("DingTalk sent no authorization code."))
    try:
        identity = _identify(request, app, provider, code)
    except errors.DingTalkError as exc:
        reason = errors.explain(exc, doing=_("signing in with DingTalk"))
        return problem(request, app, 502, f"dingtalk:{exc.code}", reason, state)
    if not identity.union_id:
        return problem(request, app, 502, "no_identity", _("DingTalk did not say who you are."))
    next_url = safe_next(state.get("next"), reverse("home"))
    if state.get("process") == AuthProcess.CONNECT and request.user.is_authenticated:
        return _connect(request, app, identity, next_url, state)
    return _sign_in(request, app, identity, next_url, state)


def _identify(
    request: HttpRequest, app: DingTalkApp, provider: DingTalkProvider, code: str
) -> DingTalkIdentity:
    adapter = provider.get_oauth2_adapter(request)
    token = adapter.exchange_code(code)
    sociallogin = adapter.complete_login(request, provider.app, token)
    profile = DingTalkIdentity.from_dict(sociallogin.account.extra_data)
    return DingTalkIdentity(**{**profile.as_dict(), "user_id": _user_id(app, profile.union_id)})


def _user_id(app: DingTalkApp, union_id: str) -> str:
    """The organisation's userid (what one-to-one cards address); blank when the contacts API
    refuses (a missing permission), so that linking still works and cards say why later."""
    if not union_id:
        return ""
    try:
        return app.client().userid_by_unionid(union_id)
    except errors.DingTalkError as exc:
        logger.warning("DingTalk app %s: no userid for a sign-in (code %s)", app.pk, exc.code)
        return ""


def _connect(
    request: HttpRequest,
    app: DingTalkApp,
    identity: DingTalkIdentity,
    next_url: str,
    state: dict[str, Any],
) -> HttpResponse:
    existing = linking.linked_account(app, identity.union_id)
    taken = _("This DingTalk account is linked to another console user.")
    if existing is not None and existing.user_id != request.user.pk:
        return problem(request, app, 409, "taken", taken, state)
    try:
        linking.link(request.user, app, identity)
    except IntegrityError:  # linked to someone else between our check and our write
        return problem(request, app, 409, "taken", taken, state)
    logger.info("DingTalk app %s: console user %s linked", app.pk, request.user.pk)
    return redirect(next_url)


def _sign_in(
    request: HttpRequest,
    app: DingTalkApp,
    identity: DingTalkIdentity,
    next_url: str,
    state: dict[str, Any],
) -> HttpResponse:
    existing = linking.linked_account(app, identity.union_id)
    if existing is not None:
        linking.refresh(existing, identity)
        return _log_in(request, app, existing.user, next_url, state)
    if request.user.is_authenticated:
        return _connect(request, app, identity, next_url, state)
    linking.keep_pending(request, app, identity, next_url)
    resume_url = reverse("dingtalk:link-resume", args=[app.public_id])
    return redirect(reverse(settings.LOGIN_URL) + "?" + urlencode({"next": resume_url}))


def _log_in(
    request: HttpRequest,
    app: DingTalkApp,
    user: AbstractBaseUser,
    next_url: str,
    state: dict[str, Any],
) -> HttpResponse:
    if not user.is_active:
        return problem(request, app, 403, "inactive", _("Your console account is disabled."))
    login(request, user, backend=SESSION_BACKEND)
    return redirect(next_url)


def resume_after_sign_in(request: HttpRequest, app: DingTalkApp) -> HttpResponse:
    """Back from the console's login: link the waiting DingTalk identity to the signed-in
    user, then on to the page first asked for."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    pending = linking.take_pending(request, app)
    if pending is None:
        return problem(request, app, 400, "state", _("This sign-in link expired or was used."))
    identity, next_url = pending
    return _connect(request, app, identity, next_url, {"process": AuthProcess.LOGIN})


def problem(
    request: HttpRequest,
    app: DingTalkApp,
    status: int,
    kind: str,
    reason: str,
    state: dict[str, Any] | None = None,
) -> HttpResponse:
    """The page of a failed sign-in, with a link that starts it again."""
    logger.warning("DingTalk app %s: sign-in failed: %s", app.pk, kind)
    retry_url = reverse("dingtalk:homepage", args=[app.public_id])
    next_url = (state or {}).get("next")
    if next_url and next_url != reverse("home"):
        retry_url += "?" + urlencode({"next": next_url})
    context = {"app": app, "reason": reason, "retry_url": retry_url}
    return render(request, "dingtalk/oauth_problem.html", context, status=status)
