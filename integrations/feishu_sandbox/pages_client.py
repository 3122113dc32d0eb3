"""The sandbox's chat client: a person's conversations, the cards in them, and what they do.

Like Feishu, a person sees one direct chat with the bot of every app available to them and
each group they belong to. Writing to a bot sends ``im.message.receive_v1`` to its app; a click
on a card sends the card callback (either format) and applies the answer the way the Feishu
client does: a toast, and maybe a new card in place of the old one.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from urllib.parse import urlencode

from django.db.models import Count, Max, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404, HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from integrations.feishu_sandbox import send
from integrations.feishu_sandbox.api_messages import replace_content
from integrations.feishu_sandbox.models import (
    AppIdentity,
    CallbackFormat,
    SandboxApp,
    SandboxChat,
    SandboxMessage,
    SandboxUser,
)
from integrations.feishu_sandbox.page_forms import MessageForm
from integrations.feishu_sandbox.pages import flash, page
from integrations.feishu_sandbox.render import ClickForm, find_element, render_message
from integrations.feishu_sandbox.render_markup import json_object_or_none

SHOWN_MESSAGES = 100
FORMATS = ("", CallbackFormat.NEW.value, CallbackFormat.OLD.value)


@dataclass(frozen=True)
class Conversation:
    """A direct chat (person + app's bot) or a group, as one person sees it."""

    person: SandboxUser
    app: SandboxApp | None = None
    chat: SandboxChat | None = None

    @property
    def title(self) -> str:
        return self.chat.name if self.chat else f"{self.app.bot_name} ({self.app.name})"

    @property
    def url(self) -> str:
        if self.chat:
            return reverse(
                "feishu_sandbox:client-group", args=[self.person.user_id, self.chat.chat_id]
            )
        return reverse("feishu_sandbox:client-direct", args=[self.person.user_id, self.app.app_id])

    # Cached: the page asks for these once per message it shows.
    @cached_property
    def bots(self) -> list[SandboxApp]:
        return list(self.chat.bots.all()) if self.chat else []

    def messages(self) -> QuerySet[SandboxMessage]:
        if self.chat:
            found = SandboxMessage.objects.filter(chat=self.chat)
        else:
            found = SandboxMessage.objects.filter(app=self.app, user=self.person, chat=None)
        return found.select_related("app", "sender", "reply_to")

    @cached_property
    def closed_reason(self) -> str:
        if self.chat and self.chat.disbanded:
            return "This group has been disbanded."
        if self.chat and not self.bots:
            return "No bot is in this group: add one from the Chats page."
        return ""


# --- Who am I ----------------------------------------------------------------------------------


def client(request: HttpRequest) -> HttpResponse:
    """Pick the person to be."""
    return page(request, "client.html", {"section": "client", "people": SandboxUser.objects.all()})


def client_home(request: HttpRequest, user_id: str) -> HttpResponse:
    person = get_object_or_404(SandboxUser, user_id=user_id)
    direct = [app for app in SandboxApp.objects.all() if app.is_available_to(person)]
    context = {
        "section": "client",
        "person": person,
        "direct": [Conversation(person, app=app) for app in direct],
        "groups": [
            Conversation(person, chat=chat) for chat in person.chats.filter(disbanded=False)
        ],
    }
    return page(request, "client_home.html", context)


# --- A conversation ----------------------------------------------------------------------------


def _direct(user_id: str, app_id: str) -> Conversation:
    person = get_object_or_404(SandboxUser, user_id=user_id)
    app = get_object_or_404(SandboxApp, app_id=app_id)
    if not app.is_available_to(person):
        raise Http404("This app is not available to this person.")
    return Conversation(person, app=app)


def _group(user_id: str, chat_id: str) -> Conversation:
    person = get_object_or_404(SandboxUser, user_id=user_id)
    chat = get_object_or_404(SandboxChat, chat_id=chat_id, members=person)
    return Conversation(person, chat=chat)


@require_http_methods(["GET", "POST"])
def direct_chat(request: HttpRequest, user_id: str, app_id: str) -> HttpResponse:
    return _conversation_page(request, _direct(user_id, app_id))


@require_http_methods(["GET", "POST"])
def group_chat(request: HttpRequest, user_id: str, chat_id: str) -> HttpResponse:
    return _conversation_page(request, _group(user_id, chat_id))


def _conversation_page(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    callback_format = _format(request.GET.get("format", ""))
    if request.method == "POST":
        return _write(request, conversation)
    if request.GET.get("partial"):
        return _poll(request, conversation, callback_format)
    messages = _shown_messages(request, conversation, callback_format, _stamp(conversation))
    reply_to = _reply_target(conversation, request.GET.get("reply_to", ""))
    form = MessageForm(
        initial={"reply_to": reply_to.message_id if reply_to else "", "mention": True},
        bots=conversation.bots,
    )
    context = {
        "section": "client",
        "conversation": conversation,
        "messages": messages,
        "form": form,
        "reply_to": reply_to,
        "callback_format": callback_format,
        "formats": [("", "App's setting"), *CallbackFormat.choices],
        "poll_url": f"{conversation.url}?{urlencode({'partial': 1, 'format': callback_format})}",
    }
    return page(request, "conversation.html", context)


def _poll(request: HttpRequest, conversation: Conversation, callback_format: str) -> HttpResponse:
    """The fragment the page polls every 3 s to show cards the console sends or updates; 204
    while the page's ``since`` stamp is current, rather than render up to 100 cards that the
    page would throw away. The stamp is taken before the messages are read: a message that
    arrives in between costs one more render at the next poll, and is never missed."""
    stamp = _stamp(conversation)
    if request.GET.get("since") == stamp:
        return HttpResponse(status=204)
    context = {
        "conversation": conversation,
        "messages": _shown_messages(request, conversation, callback_format, stamp),
        "callback_format": callback_format,
    }
    return render(request, "feishu_sandbox/_messages.html", context)


def _stamp(conversation: Conversation) -> str:
    """Changes whenever a message is added or updated, or the conversation closes."""
    totals = conversation.messages().aggregate(
        count=Count("id"), last=Max("id"), updates=Coalesce(Sum("update_count"), 0)
    )
    state = "closed" if conversation.closed_reason else "open"
    return f"{totals['count']}:{totals['last']}:{totals['updates']}:{state}"


def _format(value: str) -> str:
    return value if value in FORMATS else ""


def _reply_target(conversation: Conversation, message_id: str) -> SandboxMessage | None:
    if not message_id:
        return None
    return conversation.messages().filter(message_id=message_id).first()


@dataclass(frozen=True)
class ShownMessage:
    message: SandboxMessage
    html: str
    sender: str
    from_bot: bool


@dataclass(frozen=True)
class ShownMessages:
    items: list[ShownMessage]
    stamp: str  # _stamp: the poller swaps the list only when it changes


def _shown_messages(
    request: HttpRequest, conversation: Conversation, callback_format: str, stamp: str
) -> ShownMessages:
    latest = list(conversation.messages().order_by("-created_at", "-id")[:SHOWN_MESSAGES])[::-1]
    csrf_token = get_token(request)
    names = _names_by_app()
    items = []
    for message in latest:
        click = _click_form(conversation.person, message, csrf_token, callback_format)
        html = render_message(
            message.msg_type, message.content, click=click, names=names(message.app)
        )
        sender = message.sender.name if message.sender else message.app.bot_name
        items.append(ShownMessage(message, html, sender, from_bot=message.sender is None))
    return ShownMessages(items, stamp)


def _click_form(
    person: SandboxUser, message: SandboxMessage, csrf_token: str, callback_format: str
) -> ClickForm | None:
    """Only the bot's cards can be clicked (a person's own messages are text)."""
    if message.sender is not None:
        return None
    url = reverse("feishu_sandbox:client-click", args=[person.user_id, message.message_id])
    return ClickForm(url, csrf_token, {"format": callback_format})


def _names_by_app() -> Callable[[SandboxApp], dict[str, str]]:
    """open_id / user_id / union_id / email -> name, for the mentions in one app's messages."""
    people = list(SandboxUser.objects.all())
    shared: dict[str, str] = {}
    for person in people:
        shared |= {person.user_id: person.name, person.union_id: person.name}
        if person.email:
            shared[person.email] = person.name

    @cache
    def names(app: SandboxApp) -> dict[str, str]:
        identities = AppIdentity.objects.filter(app=app).select_related("user")
        own = {identity.open_id: identity.user.name for identity in identities}
        return {**shared, **own, send.bot_open_id(app): app.bot_name}

    return names


# --- Writing to a bot ----------------------------------------------------------------------------


def _write(request: HttpRequest, conversation: Conversation) -> HttpResponse:
    """Store the person's text message and send it to the app as ``im.message.receive_v1``."""
    back = _with_format(conversation.url, request.GET.get("format", ""))
    closed = conversation.closed_reason
    form = MessageForm(request.POST, bots=conversation.bots)
    if closed or not form.is_valid():
        flash(request, closed or _first_error(form), level="error")
        return redirect(back)
    app = conversation.app or form.chosen_bot() or conversation.bots[0]
    text = form.cleaned_data["text"]
    mentioned = bool(conversation.chat and form.cleaned_data.get("mention"))
    message = SandboxMessage.objects.create(
        app=app,
        user=None if conversation.chat else conversation.person,
        chat=conversation.chat,
        sender=conversation.person,
        msg_type=SandboxMessage.MsgType.TEXT,
        content=json.dumps({"text": _stored_text(app, text, mentioned)}, ensure_ascii=False),
        reply_to=_reply_target(conversation, form.cleaned_data["reply_to"]),
    )
    # Without an @, a group message reaches an app only with the "read all group messages"
    # scope; the sandbox sends it anyway, so that the console's "not for me" path is exercised.
    event_text = f"{send.MENTION_KEY} {text}" if mentioned else text
    delivery = send.send_event(app, send.message_received_event(app, message, event_text))
    if delivery is None:
        flash(request, f"Sent; {app.name} has no event request URL, so it heard nothing.")
    else:
        level = "success" if delivery.ok else "error"
        flash(
            request,
            f"Sent to {app.name}: {delivery.summary()}.",
            level=level,
            deliveries=[delivery],
        )
    return redirect(f"{back}#{message.message_id}")


def _first_error(form: MessageForm) -> str:
    field, errors = next(iter(form.errors.items()))
    label = "Message" if field == "text" else form.fields[field].label or field
    return f"{label}: {errors[0]}"


def _stored_text(app: SandboxApp, text: str, mentioned: bool) -> str:
    """The message as Feishu keeps it: a mention is an ``<at>`` tag naming the bot."""
    if not mentioned:
        return text
    return f'<at user_id="{send.bot_open_id(app)}">{app.bot_name}</at> {text}'


# --- Clicking a card ------------------------------------------------------------------------------


@require_POST
def click(request: HttpRequest, user_id: str, message_id: str) -> HttpResponse:
    """A person clicked a button or chose an option on a card: send the card callback, then
    show the toast and apply the card the console answered with."""
    person = get_object_or_404(SandboxUser, user_id=user_id)
    message = _visible_card(person, message_id)
    conversation = _conversation_of(person, message)
    back = _back_url(conversation, message, request.POST.get("format", ""))
    element = _clicked_element(message, request.POST.get("element", ""))
    option = request.POST.get("option")
    if element is None or not _option_allowed(element, option):
        flash(request, "This element is no longer on the card.", level="error")
        return redirect(back)
    answer = send.send_card_action(
        message.app,
        person,
        message,
        send.Click(tag=element["tag"], value=element.get("value"), option=option),
        callback_format=_format(request.POST.get("format", "")),
    )
    if answer.card is not None:
        # In the database, not on the row read above: a PATCH from the console's sync may land
        # meanwhile, and its update must still count.
        replace_content(message, json.dumps(answer.card, ensure_ascii=False))
    toast = {"type": answer.toast_type, "content": answer.toast} if answer.toast else None
    text = answer.delivery.summary() if answer.delivery else answer.toast
    flash(
        request,
        text,
        level="error" if answer.failed else "info",
        deliveries=[answer.delivery],
        toast=toast,
    )
    return redirect(back)


def _visible_card(person: SandboxUser, message_id: str) -> SandboxMessage:
    """The card, if this person can see it (in their direct chat, or a group they are in)."""
    cards = SandboxMessage.objects.filter(
        message_id=message_id, msg_type=SandboxMessage.MsgType.INTERACTIVE, sender=None
    )
    message = cards.select_related("app", "chat", "user").first()
    if message is None:
        raise Http404("No such card.")
    if message.chat is not None:
        if not message.chat.members.filter(pk=person.pk).exists():
            raise Http404("This person is not in that group.")
        if message.chat.disbanded:
            raise Http404("This group has been disbanded.")
    elif message.user_id != person.pk:
        raise Http404("This card was sent to someone else.")
    return message


def _clicked_element(message: SandboxMessage, pointer: str) -> dict | None:
    """The element as the stored card has it now: its ``value`` is what Feishu sends."""
    card = json_object_or_none(message.content)
    return find_element(card, pointer) if card is not None and pointer else None


def _conversation_of(person: SandboxUser, message: SandboxMessage) -> Conversation:
    if message.chat is not None:
        return Conversation(person, chat=message.chat)
    return Conversation(person, app=message.app)


def _back_url(conversation: Conversation, message: SandboxMessage, callback_format: str) -> str:
    return f"{_with_format(conversation.url, callback_format)}#{message.message_id}"


def _with_format(url: str, callback_format: str) -> str:
    """The conversation keeps the format chosen with the page's switch."""
    callback_format = _format(callback_format)
    return f"{url}?{urlencode({'format': callback_format})}" if callback_format else url


def _option_allowed(element: dict, option: str | None) -> bool:
    """Menus send one of their options; buttons send none."""
    if element["tag"] == "button":
        return option is None
    options = element.get("options")
    if option is None or not isinstance(options, list):
        return False
    return option in {str(item.get("value")) for item in options if isinstance(item, dict)}
