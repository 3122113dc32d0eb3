"""The URLs a Feishu app opens in a browser: the web app entry and the OAuth round trip of
account linking (``integrations.feishu.oauth.views``). The callback URL, which Feishu POSTs
events and card clicks to, is ``integrations.feishu.inbound.endpoint``.
"""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponse

from integrations.feishu.models import FeishuApp
from integrations.feishu.oauth import views as oauth_views


def _enabled_app(public_id: UUID) -> FeishuApp:
    app = FeishuApp.objects.filter(public_id=public_id, enabled=True).first()
    if app is None:
        raise Http404("No enabled Feishu app has this URL.")
    return app


def web_entry(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The web app's homepage (desktop and mobile) that Feishu opens in its frame: the Feishu
    sign-in round trip, then ``?next=`` (a same-site path, e.g. an incident) or home."""
    return oauth_views.start_sign_in(request, _enabled_app(public_id))


def link(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Link, or switch, the signed-in user's Feishu account (from the linked-accounts page)."""
    return oauth_views.start_linking(request, _enabled_app(public_id))


def oauth_callback(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """The OAuth redirect URL registered in the app's Security Settings: the round trip of
    account linking ends here."""
    return oauth_views.finish(request, _enabled_app(public_id))


def link_sign_in(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """ "Sign in to the console to link your Feishu account"."""
    return oauth_views.sign_in_to_link(request, _enabled_app(public_id))


def link_resume(request: HttpRequest, public_id: UUID) -> HttpResponse:
    """Where the console's login returns to, to link the Feishu identity waiting there."""
    return oauth_views.resume_after_sign_in(request, _enabled_app(public_id))
