"""The signed-in person's DingTalk links on "My account" (the platform's account section): one
row per enabled app, with "Link", "Switch account" (sign in again as the right DingTalk user)
and "Unlink" (a POST, so a stray GET never removes a link). Everyone sees and changes only
their own links."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from integrations.dingtalk.models import DingTalkAccount, DingTalkApp
from oncall.sections import Section

ACCOUNT_PAGE = "account"


@dataclass(frozen=True)
class AppRow:
    """One enabled app and the person's link to it (None when not linked)."""

    app: DingTalkApp
    link: DingTalkAccount | None

    @property
    def link_url(self) -> str:
        """The OAuth round trip, coming back to "My account"."""
        query = urlencode({"next": reverse(ACCOUNT_PAGE)})
        return reverse("dingtalk:link", args=[self.app.public_id]) + "?" + query


def link_rows(user: AbstractBaseUser) -> list[AppRow]:
    """Every enabled app with ``user``'s link to it (two queries)."""
    apps = list(DingTalkApp.objects.filter(enabled=True).order_by("name", "pk"))
    by_app = {a.app_id: a for a in DingTalkAccount.objects.filter(user=user, app__in=apps)}
    return [AppRow(app=app, link=by_app.get(app.pk)) for app in apps]


def section(request: HttpRequest) -> Section | None:
    """Nothing while no DingTalk app is enabled: a Feishu-only console shows no empty panel."""
    rows = link_rows(request.user)
    return Section("dingtalk/_linked_accounts_section.html", {"rows": rows}) if rows else None


def unlink(request: HttpRequest, app: DingTalkApp) -> HttpResponse:
    deleted, _rows = DingTalkAccount.objects.filter(user=request.user, app=app).delete()
    if deleted:
        text = _(
            "Your DingTalk account is no longer linked to %(app)s. Its cards no longer reach "
            "you until you link again."
        )
        messages.success(request, text % {"app": app.name})
    else:
        messages.info(request, _("There is no linked account to remove there."))
    return redirect(ACCOUNT_PAGE)
