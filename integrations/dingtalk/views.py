"""The app's web entries: the application homepage (mobile), the PC homepage and the cool app's
group quick access all open the console, signing in with DingTalk (``oauth.views``): the first
visit links the DingTalk account, later visits are login-free, and ``next`` (a path on this
site) is where the person lands. The OAuth callback, "Link" and the return from the console's
own sign-in are here too.
"""

from __future__ import annotations

from uuid import UUID

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET, require_POST

from integrations.dingtalk.models import DingTalkApp
from integrations.dingtalk.oauth import account_page
from integrations.dingtalk.oauth import views as oauth


def _enabled_app(public_id: UUID) -> DingTalkApp:
    app = DingTalkApp.objects.filter(public_id=public_id, enabled=True).first()
    if app is None:
        raise Http404("No enabled DingTalk app has this URL.")
    return app


@require_GET
def web_entry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return oauth.start_sign_in(request, _enabled_app(public_id))


@require_GET
def oauth_callback(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return oauth.finish(request, _enabled_app(public_id))


@require_GET
def link(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return oauth.start_linking(request, _enabled_app(public_id))


@require_GET
def link_resume(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return oauth.resume_after_sign_in(request, _enabled_app(public_id))


@login_required
@require_POST
def unlink(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return account_page.unlink(request, _enabled_app(public_id))
