"""The app's web entries: the application homepage (mobile), the PC homepage and the cool app's
group quick access all open the console.

For now each opens the console page asked for (``next``, a path on this site) or the home page,
behind the console's own sign-in. Signing in with DingTalk (login-free after the first visit,
linking the DingTalk account) comes with account linking, at these same URLs, so that nothing
pasted into DingTalk has to change.
"""

from __future__ import annotations

from uuid import UUID

from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from integrations.dingtalk.models import DingTalkApp


def web_entry(request: HttpRequest, public_id: UUID) -> HttpResponseRedirect:
    if not DingTalkApp.objects.filter(public_id=public_id, enabled=True).exists():
        raise Http404("No enabled DingTalk app has this URL.")
    target = request.GET.get("next", "")
    safe = target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return HttpResponseRedirect(target if safe else resolve_url("home"))
