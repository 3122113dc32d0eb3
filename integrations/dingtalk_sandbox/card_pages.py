"""The sandbox's cards: every interactive card the apps' robots sent, shown as DingTalk shows a
``StandardCard`` (its title, its Markdown lines, its buttons), and a click on a button called
back to the console (``card_clicks``), as whichever userId the page is told clicked it."""

from __future__ import annotations

import html
import re

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from integrations.dingtalk_sandbox import card_clicks
from integrations.dingtalk_sandbox.models import SandboxCard

RECENT_CARDS = 50


class ClickForm(forms.Form):
    user_id = forms.CharField(label=_("clicked by (userId)"), max_length=64)
    action = forms.CharField(max_length=64)


def markdown(text: str) -> SafeString:
    """DingTalk card Markdown, the little the console's cards use, as HTML: everything is
    escaped first, then ``<font color=#rrggbb>``, ``**bold**``, ``[text](http...)``, numeric
    entities and line breaks come back as markup."""
    out = html.escape(text, quote=True)
    out = re.sub(r"&amp;#(\d{1,6});", r"&#\1;", out)
    out = re.sub(
        r"&lt;font color=(#[0-9A-Fa-f]{6})&gt;(.*?)&lt;/font&gt;",
        r'<span style="color:\1">\2</span>',
        out,
    )
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"\[([^\]]+)\]\((https?://[^\s)&]+)\)", r'<a href="\2">\1</a>', out)
    return mark_safe(out.replace("\n", "<br>"))  # noqa: S308 -- built from escaped text


def shown(card: SandboxCard) -> dict:
    """What the card page draws: the title, the Markdown blocks as HTML, the buttons."""
    header = card.data.get("header") or {}
    blocks = [
        markdown(str(element.get("text") or ""))
        for element in card.data.get("contents") or []
        if isinstance(element, dict) and element.get("type") == "markdown"
    ]
    return {
        "card": card,
        "title": (header.get("title") or {}).get("text", ""),
        "blocks": blocks,
        "buttons": card_clicks.buttons(card),
    }


@require_GET
def cards(request: HttpRequest) -> HttpResponse:
    """The recent cards; ``?group=<openConversationId>``: one group's (a war room's link)."""
    recent = SandboxCard.objects.select_related("app", "group")
    group = request.GET.get("group", "")
    if group:
        recent = recent.filter(group__open_conversation_id=group)
    context = {"cards": [shown(c) for c in recent[:RECENT_CARDS]]}
    return render(request, "dingtalk_sandbox/cards.html", context)


@require_GET
def card(request: HttpRequest, card_id: int) -> HttpResponse:
    found = get_object_or_404(SandboxCard.objects.select_related("app", "group"), pk=card_id)
    default_user = found.user_id or "manager0001"
    return render(
        request, "dingtalk_sandbox/card.html", {**shown(found), "default_user": default_user}
    )


@require_POST
def click(request: HttpRequest, card_id: int) -> HttpResponse:
    found = get_object_or_404(SandboxCard.objects.select_related("app", "group"), pk=card_id)
    form = ClickForm(request.POST)
    if not form.is_valid():
        messages.error(request, gettext("Say who clicked (a userId) and which button."))
        return redirect("dingtalk_sandbox:card", found.pk)
    record = card_clicks.click(found, form.cleaned_data["user_id"], form.cleaned_data["action"])
    if record.ok:
        messages.success(request, gettext("The console answered: %(t)s") % {"t": record.outcome})
    else:
        messages.error(request, gettext("The click failed: %(t)s") % {"t": record.outcome})
    return redirect("dingtalk_sandbox:card", found.pk)
