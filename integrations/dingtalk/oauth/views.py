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
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from integrations.chatkit.oauth import safe_next
from integrations.chatkit.sign_in import SignInFlow
from integrations.dingtalk.client import errors
from integrations.dingtalk.models import DingTalkAccount, DingTalkApp
from integrations.dingtalk.oauth import linking
from integrations.dingtalk.oauth.provider import DingTalkIdentity, DingTalkProvider

logger = logging.getLogger(__name__)


def start_sign_in(request: HttpRequest, app: DingTalkApp) -> HttpResponse:
    """The homepage URL: signed in already with a link, straight to ``next``; otherwise
    DingTalk's consent page, then back to ``next`` (or home), signed in."""
    next_url = safe_next(request.GET.get("next"), reverse("home"))
    if request.user.is_authenticated and linking.account_of(request.user, app) is not None:
        return redirect(next_url)
    return DingTalkProvider.for_app(request, app).redirect(request, AuthProcess.LOGIN, next_url)


class DingTalkSignIn(SignInFlow):
    """The round trip's decisions (``chatkit.sign_in``) with DingTalk's links and problem
    pages; a first visit signs in to the console once to link."""

    provider_class = DingTalkProvider
    platform_name = "DingTalk"

    def uid(self, identity: DingTalkIdentity) -> str:
        return identity.union_id

    def linked_account(self, app: DingTalkApp, uid: str) -> DingTalkAccount | None:
        return linking.linked_account(app, uid)

    def refresh(self, account: DingTalkAccount, identity: DingTalkIdentity) -> DingTalkAccount:
        return linking.refresh(account, identity)

    def link(
        self, user: AbstractBaseUser, app: DingTalkApp, identity: DingTalkIdentity
    ) -> DingTalkAccount:
        return linking.link(user, app, identity)

    def take_pending(
        self, request: HttpRequest, app: DingTalkApp
    ) -> tuple[DingTalkIdentity, str] | None:
        return linking.take_pending(request, app)

    def first_visit(
        self,
        request: HttpRequest,
        app: DingTalkApp,
        identity: DingTalkIdentity,
        next_url: str,
        state: dict[str, Any],
    ) -> HttpResponse:
        linking.keep_pending(request, app, identity, next_url)
        resume_url = reverse("dingtalk:link-resume", args=[app.public_id])
        return redirect(reverse(settings.LOGIN_URL) + "?" + urlencode({"next": resume_url}))

    def taken(self, request: HttpRequest, app: DingTalkApp, state: dict[str, Any]) -> HttpResponse:
        reason = _("This DingTalk account is linked to another console user.")
        return problem(request, app, 409, "taken", reason, state)

    def inactive(
        self, request: HttpRequest, app: DingTalkApp, state: dict[str, Any]
    ) -> HttpResponse:
        return problem(request, app, 403, "inactive", _("Your console account is disabled."))

    def state_invalid(self, request: HttpRequest, app: DingTalkApp) -> HttpResponse:
        return problem(request, app, 400, "state", _("This sign-in link expired or was used."))


FLOW = DingTalkSignIn()
start_linking = FLOW.start_linking
resume_after_sign_in = FLOW.resume_after_sign_in


def finish(request: HttpRequest, app: DingTalkApp) -> HttpResponse:
    """The OAuth redirect URL: check the state, exchange the code once, then link or sign in."""
    provider = DingTalkProvider.for_app(request, app)
    state = provider.take_state(request)
    if state is None:
        return FLOW.state_invalid(request, app)
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
    return FLOW.identified(request, app, identity, state)


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
