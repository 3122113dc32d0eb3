"""The signed-in person's linked Feishu accounts (``/account/feishu/``): one row per enabled
app, with "Link", "Switch account" (the setup guide's FAQ: sign in again as the right Feishu
user) and "Unlink".

Linking and switching go through the app's OAuth round trip (``feishu:link``); unlinking is a
POST after a confirmation page, so a stray GET (a prefetch, a crawler) never removes a link.
Everyone sees and changes only their own links.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from integrations.feishu.models import FeishuApp, LinkedAccount

# Enough of an open_id ("ou_" and 32 hex digits) to tell two apart, short enough for a phone.
OPEN_ID_HEAD = 7
OPEN_ID_TAIL = 4


@dataclass(frozen=True)
class AppRow:
    """One enabled app and the person's link to it (None when not linked)."""

    app: FeishuApp
    link: LinkedAccount | None

    @property
    def link_url(self) -> str:
        """Start the OAuth round trip, coming back to this page ("Link" and "Switch account")."""
        return reverse("feishu:link", args=[self.app.public_id]) + f"?next={page_url()}"

    @property
    def short_open_id(self) -> str:
        open_id = self.link.open_id if self.link else ""
        if len(open_id) <= OPEN_ID_HEAD + OPEN_ID_TAIL + 1:
            return open_id
        return f"{open_id[:OPEN_ID_HEAD]}…{open_id[-OPEN_ID_TAIL:]}"


def page_url() -> str:
    return reverse("account-feishu")


@login_required
@require_http_methods(["GET", "POST"])
def linked_accounts(request: HttpRequest) -> HttpResponse:
    """The list (GET), the unlink confirmation (GET ``?unlink=<app public id>``) and the
    unlink itself (POST ``app=<app public id>``)."""
    if request.method == "POST":
        return _unlink(request)
    if "unlink" in request.GET:
        return _confirm_unlink(request)
    return render(request, "feishu/linked_accounts.html", {"rows": link_rows(request.user)})


def link_rows(user: AbstractBaseUser) -> list[AppRow]:
    """Every enabled app with ``user``'s link to it (two queries)."""
    apps = list(FeishuApp.objects.filter(enabled=True).order_by("name", "pk"))
    links = LinkedAccount.objects.filter(user=user, app__in=apps)
    by_app = {link.app_id: link for link in links}
    return [AppRow(app=app, link=by_app.get(app.pk)) for app in apps]


def _own_link(request: HttpRequest, public_id: str) -> LinkedAccount | None:
    """The signed-in person's link to the enabled app ``public_id``; None for anything else
    (a malformed id, another app, someone else's link)."""
    try:
        UUID(public_id)
    except ValueError:
        return None
    return (
        LinkedAccount.objects.select_related("app")
        .filter(user=request.user, app__public_id=public_id, app__enabled=True)
        .first()
    )


def _confirm_unlink(request: HttpRequest) -> HttpResponse:
    link = _own_link(request, request.GET["unlink"])
    if link is None:
        messages.info(request, _("There is no linked account to remove there."))
        return redirect(page_url())
    row = AppRow(app=link.app, link=link)
    return render(request, "feishu/unlink_confirm.html", {"row": row})


def _unlink(request: HttpRequest) -> HttpResponse:
    link = _own_link(request, request.POST.get("app", ""))
    if link is None:
        messages.info(request, _("There is no linked account to remove there."))
        return redirect(page_url())
    app_name = link.app.name
    link.delete()
    messages.success(
        request,
        _(
            "Your Feishu account is no longer linked to %(app)s. Cards from it no longer reach "
            "you until you link again."
        )
        % {"app": app_name},
    )
    return redirect(page_url())
