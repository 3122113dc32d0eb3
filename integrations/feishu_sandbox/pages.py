"""The sandbox's developer console: apps and their credentials, the directory, chats (and the
bots in them), faults and the log of API calls.

No login: the sandbox is served only when FEISHU_SANDBOX_ENABLED (development and tests), and
it plays Feishu, where anyone in the tenant may open the developer console of a shared app.
Every change is a POST with a CSRF token, answered by a redirect; what the sandbox sent to the
console on the way (events, challenges) is shown once on the next page ("flash").
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.models import (
    ApiCall,
    Fault,
    SandboxApp,
    SandboxChat,
    SandboxUser,
    new_encrypt_key,
)
from integrations.feishu_sandbox.page_forms import (
    AppCreateForm,
    AppSettingsForm,
    BotForm,
    ChatCreateForm,
    DisbandForm,
    EncryptKeyForm,
    FaultForm,
    MemberForm,
    PersonForm,
    VerifyForm,
)

FLASH_KEY = "feishu_sandbox_flash"
RECENT_CALLS = 100


# --- Flash: what happened on the last POST, shown once -----------------------------------------


def flash(
    request: HttpRequest,
    text: str,
    *,
    level: str = "info",
    deliveries: Iterable[send.Delivery | None] = (),
    toast: dict | None = None,
) -> None:
    """Keep a report for the next page: a line of text, an optional toast as the Feishu client
    would show it, and each request the sandbox made (URL, status, answer, what was sent)."""
    request.session[FLASH_KEY] = {
        "text": text,
        "level": level,
        "toast": toast,
        "deliveries": [_delivery_report(d) for d in deliveries if d is not None],
    }


def _delivery_report(delivery: send.Delivery) -> dict:
    return {
        "url": delivery.url,
        "status": delivery.status,
        "ok": delivery.ok,
        "answer": delivery.answer,
        "error": delivery.error,
        "sent": json.dumps(delivery.sent, ensure_ascii=False, indent=2),
    }


def page(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """Render a sandbox page with the pending flash (taken once) and the section for the nav."""
    context = {"flash": request.session.pop(FLASH_KEY, None), **context}
    return render(request, f"feishu_sandbox/{template}", context, status=status)


def _delivery_text(what: str, delivery: send.Delivery | None) -> tuple[str, str]:
    """A sentence and a level for one event or challenge."""
    if delivery is None:
        return f"{what}; no event was sent: the app has no event request URL.", "info"
    if delivery.ok:
        return f"{what}; the console answered HTTP 200.", "success"
    return f"{what}; {delivery.summary()}.", "error"


# --- Apps ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def home(request: HttpRequest) -> HttpResponse:
    """The developer console's app list, and "create a custom app"."""
    form = AppCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        app = form.save()
        flash(
            request, f"Created {app.name}. Copy its credentials into the console.", level="success"
        )
        return redirect("feishu_sandbox:app", app.app_id)
    apps = SandboxApp.objects.all()
    return page(request, "home.html", {"section": "apps", "apps": apps, "form": form})


@require_http_methods(["GET", "POST"])
def app_detail(request: HttpRequest, app_id: str) -> HttpResponse:
    """Credentials (to copy), request URLs, callback format, redirect URLs and availability."""
    app = get_object_or_404(SandboxApp, app_id=app_id)
    form = (
        AppSettingsForm(request.POST) if request.method == "POST" else AppSettingsForm.for_app(app)
    )
    if request.method == "POST" and form.is_valid():
        form.apply(app)
        flash(request, "Saved.", level="success")
        return redirect("feishu_sandbox:app", app.app_id)
    context = {"section": "apps", "app": app, "form": form}
    return page(request, "app.html", context, status=400 if form.errors else 200)


@require_POST
def app_encrypt_key(request: HttpRequest, app_id: str) -> HttpResponse:
    app = get_object_or_404(SandboxApp, app_id=app_id)
    form = EncryptKeyForm(request.POST)
    if form.is_valid():
        regenerate = form.cleaned_data["action"] == "regenerate"
        app.encrypt_key = new_encrypt_key() if regenerate else ""
        app.save(update_fields=["encrypt_key"])
        text = (
            "A new Encrypt Key is in use: copy it into the console."
            if regenerate
            else "The Encrypt Key is cleared: events now go unencrypted and unsigned."
        )
        flash(request, text, level="success")
    return redirect("feishu_sandbox:app", app.app_id)


@require_POST
def app_verify(request: HttpRequest, app_id: str) -> HttpResponse:
    """Feishu's "save" on a request URL: send a challenge and check the console echoes it."""
    app = get_object_or_404(SandboxApp, app_id=app_id)
    form = VerifyForm(request.POST)
    if not form.is_valid():
        return redirect("feishu_sandbox:app", app.app_id)
    which = form.cleaned_data["which"]
    url = app.event_request_url if which == "event" else send.card_request_url(app)
    if not url:
        flash(request, f"Set the {which} request URL first.", level="error")
        return redirect("feishu_sandbox:app", app.app_id)
    result = send.verify_url(app, url)
    if result.passed:
        flash(
            request,
            f"Verified: {url} echoed the challenge.",
            level="success",
            deliveries=[result.delivery],
        )
    else:
        flash(
            request,
            f"Verification failed: {url} did not echo the challenge "
            '(it must answer HTTP 200 with {"challenge": ...} within 1 s).',
            level="error",
            deliveries=[result.delivery],
        )
    return redirect("feishu_sandbox:app", app.app_id)


# --- Directory -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def people(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        person = form.save()
        flash(request, f"Added {person.name} to the directory.", level="success")
        return redirect("feishu_sandbox:people")
    context = {"section": "people", "people": SandboxUser.objects.all(), "form": form}
    return page(request, "people.html", context, status=400 if form.errors else 200)


# --- Chats -----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def chats(request: HttpRequest) -> HttpResponse:
    form = ChatCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        chat = form.save()
        flash(request, f"Created the group {chat.name}.", level="success")
        return redirect("feishu_sandbox:chat", chat.chat_id)
    listed = SandboxChat.objects.annotate(member_count=Count("members", distinct=True))
    context = {"section": "chats", "chats": listed.prefetch_related("bots"), "form": form}
    return page(request, "chats.html", context, status=400 if form.errors else 200)


def chat_detail(request: HttpRequest, chat_id: str) -> HttpResponse:
    chat = get_object_or_404(SandboxChat, chat_id=chat_id)
    bots = list(chat.bots.all())
    context = {
        "section": "chats",
        "chat": chat,
        "members": chat.members.all(),
        "bots": bots,
        "other_apps": SandboxApp.objects.exclude(pk__in=[app.pk for app in bots]),
        "other_people": SandboxUser.objects.exclude(chats=chat),
        "people": SandboxUser.objects.all(),
        "default_operator": chat.owner or chat.members.first(),
        "pinned": chat.messages.filter(pinned_at__isnull=False).order_by("pinned_at"),
    }
    return page(request, "chat.html", context)


@require_POST
def chat_members(request: HttpRequest, chat_id: str) -> HttpResponse:
    chat = get_object_or_404(SandboxChat, chat_id=chat_id, disbanded=False)
    form = MemberForm(request.POST)
    if form.is_valid():
        person = form.cleaned_data["person"]
        if form.cleaned_data["action"] == "add":
            chat.members.add(person)
            flash(request, f"{person.name} joined {chat.name}.", level="success")
        else:
            chat.members.remove(person)
            flash(request, f"{person.name} left {chat.name}.", level="success")
    return redirect("feishu_sandbox:chat", chat.chat_id)


@require_POST
def chat_bots(request: HttpRequest, chat_id: str) -> HttpResponse:
    """Add or remove an app's bot; the app hears of it through its event request URL."""
    chat = get_object_or_404(SandboxChat, chat_id=chat_id, disbanded=False)
    form = BotForm(request.POST)
    if not form.is_valid():
        flash(request, "Choose an app.", level="error")
        return redirect("feishu_sandbox:chat", chat.chat_id)
    app, operator = form.cleaned_data["app"], form.cleaned_data["operator"]
    added = form.cleaned_data["action"] == "add"
    if added:
        chat.bots.add(app)
    else:
        chat.bots.remove(app)
    event = send.bot_membership_event(app, chat, operator, added=added)
    delivery = send.send_event(app, event)
    change = "joined" if added else "left"
    text, level = _delivery_text(f"{app.bot_name} {change} {chat.name}", delivery)
    flash(request, text, level=level, deliveries=[delivery])
    return redirect("feishu_sandbox:chat", chat.chat_id)


@require_POST
def chat_disband(request: HttpRequest, chat_id: str) -> HttpResponse:
    """Disband the group: every app whose bot was in it gets ``im.chat.disbanded_v1``."""
    chat = get_object_or_404(SandboxChat, chat_id=chat_id, disbanded=False)
    form = DisbandForm(request.POST)
    operator = form.cleaned_data["operator"] if form.is_valid() else None
    chat.disbanded = True
    chat.save(update_fields=["disbanded"])
    deliveries = [
        send.send_event(app, send.chat_disbanded_event(app, chat, operator))
        for app in chat.bots.all()
    ]
    sent = [d for d in deliveries if d is not None]
    failed = [d for d in sent if not d.ok]
    text = f"{chat.name} is disbanded; {len(sent)} app(s) were told"
    text += f", {len(failed)} did not answer HTTP 200." if failed else "."
    flash(request, text, level="error" if failed else "success", deliveries=sent)
    return redirect("feishu_sandbox:chat", chat.chat_id)


# --- Faults and the API log -------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def faults(request: HttpRequest) -> HttpResponse:
    form = FaultForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        fault = form.save()
        flash(request, f"The next {fault.remaining} call(s) will fail.", level="success")
        return redirect("feishu_sandbox:faults")
    context = {"section": "faults", "faults": Fault.objects.all(), "form": form}
    return page(request, "faults.html", context, status=400 if form.errors else 200)


@require_POST
def fault_delete(request: HttpRequest, pk: int) -> HttpResponse:
    Fault.objects.filter(pk=pk).delete()
    flash(request, "Fault deleted.", level="success")
    return redirect("feishu_sandbox:faults")


def calls(request: HttpRequest) -> HttpResponse:
    """The last API calls, and how many calls got each code."""
    by_code = ApiCall.objects.values("code").annotate(count=Count("id")).order_by("code")
    context = {
        "section": "calls",
        "calls": ApiCall.objects.all()[:RECENT_CALLS],
        "by_code": by_code,
        "total": ApiCall.objects.count(),
    }
    return page(request, "calls.html", context)
