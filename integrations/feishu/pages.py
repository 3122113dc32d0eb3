"""What the Feishu integration adds to responder pages (``oncall.sections``): on an incident,
whom its cards reached and what failed ("app not linked", "bot not in chat"); on "My account",
the person's links to each enabled app with Link / Switch account / Unlink; on the sign-in
page, a "Sign in with Feishu" button per app.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest
from django.urls import reverse

from integrations.feishu.models import CardDelivery, FeishuApp
from integrations.feishu.oauth.account_page import link_rows
from oncall.models import Incident
from oncall.sections import Section


def incident_deliveries(request: HttpRequest, incident: Incident) -> Section | None:
    deliveries = list(
        CardDelivery.objects.filter(incident=incident)
        .select_related("app", "user", "chat")
        .order_by("created_at", "pk")
    )
    if not deliveries:
        return None
    return Section("feishu/_incident_deliveries.html", {"deliveries": deliveries})


def linked_accounts_summary(request: HttpRequest) -> Section:
    return Section("feishu/_linked_accounts_section.html", {"rows": link_rows(request.user)})


def sign_in_buttons(request: HttpRequest) -> Section | None:
    """ "Sign in with Feishu" on the login page, one button per enabled app; the web entry
    checks ``next`` (same site only) as it does for Feishu's own frame."""
    apps = list(FeishuApp.objects.filter(enabled=True).order_by("name", "pk"))
    if not apps:
        return None
    query = urlencode({"next": request.GET["next"]}) if request.GET.get("next") else ""
    buttons = [
        {
            "app": app,
            "url": reverse("feishu:web", args=[app.public_id]) + (f"?{query}" if query else ""),
        }
        for app in apps
    ]
    return Section("feishu/_sign_in_buttons.html", {"buttons": buttons})
