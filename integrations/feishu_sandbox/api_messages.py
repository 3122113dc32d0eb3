"""Messages: send, reply, update a sent card, and the delayed card update of a card callback.

Feishu's pages (the codes below are theirs):
- send: https://open.feishu.cn/document/server-docs/im-v1/message/create
- reply: https://open.feishu.cn/document/server-docs/im-v1/message/reply
- PATCH a card: https://open.feishu.cn/document/server-docs/im-v1/message-card/patch
- delayed update: https://open.feishu.cn/document/server-docs/im-v1/message-card/delay-update-message-card

A direct message to a person lives in their p2p chat with the app's bot, whose chat_id the
sandbox derives (``p2p_chat_id``) instead of storing. Per-receiver (5/s per user or chat, a
chat's budget shared by all bots) and per-message (5/s) limits answer 230020, the code the IM
pages document for them; the per-API gateway limit answers 429 / 99991400 (see ``api``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import F
from django.utils import timezone

from integrations.chatkit.ratelimit import Limit
from integrations.feishu_sandbox.api import (
    ApiError,
    Call,
    check_chat,
    epoch_ms,
    find_user,
    invalid_field,
    open_api,
    optional_string,
    p2p_chat_id,
    rate_limited,
    required_string,
    success,
    tenant_key,
)
from integrations.feishu_sandbox.limits import (
    FREQUENCY_LIMIT,
    PER_MESSAGE_PER_SECOND,
    PER_RECEIVER_PER_SECOND,
)
from integrations.feishu_sandbox.models import (
    AppIdentity,
    CardUpdateToken,
    SandboxApp,
    SandboxChat,
    SandboxMessage,
    SandboxUser,
)
from integrations.feishu_sandbox.render import looks_like_card
from integrations.feishu_sandbox.render_markup import json_object_or_none
from integrations.feishu_sandbox.sliding_window import sandbox_limiter

INVALID_PARAM = 230001
BOT_NOT_IN_CHAT = 230002
BOT_NOT_SENDER = 230012
USER_UNAVAILABLE = 230013
CONTENT_TOO_LONG = 230025
UPDATE_WINDOW_PASSED = 230031
RECEIVE_ID_INVALID = 230034
CARD_CONTENT_FAILED = 230099
# Delayed update (interactive/v1/card/update) codes.
CARD_PARAM_INVALID = 10002
CARD_FORMAT_INVALID = 11311
CARD_TOO_LARGE = 100000
OTHER_APPS_CARD = 200310
OPEN_IDS_INVALID = 200320
UPDATE_TOKEN_MALFORMED = 300020
UPDATE_TOKEN_EXPIRED = 300030
UPDATE_TOKEN_USED_UP = 300040
OPEN_IDS_REQUIRED = 300090

RECEIVE_ID_TYPES = ("open_id", "union_id", "user_id", "email", "chat_id")
TEXT_MAX_BYTES = 150 * 1024
CARD_MAX_BYTES = 30 * 1024
UUID_MAX_LENGTH = 50
UUID_WINDOW = timedelta(hours=1)
UPDATE_WINDOW = timedelta(days=14)
MAX_REPLY_DEPTH = 1000


@dataclass(frozen=True)
class Conversation:
    """Where a message goes: a group chat, or a person's direct chat with the bot."""

    chat: SandboxChat | None = None
    user: SandboxUser | None = None

    @property
    def limit_key(self) -> str:
        # No app in the key: Feishu shares a group's 5/s among all the bots in it.
        if self.chat is not None:
            return f"sandbox:receiver:chat:{self.chat.chat_id}"
        assert self.user is not None
        return f"sandbox:receiver:user:{self.user.pk}"


# --- Endpoints --------------------------------------------------------------------------------


@open_api("im.v1.message.create", methods=["POST"])
def create_message(call: Call) -> dict[str, Any]:
    app = call.tenant_app
    receive_id_type = call.params.get("receive_id_type", "")
    if receive_id_type not in RECEIVE_ID_TYPES:
        raise invalid_field(f"receive_id_type must be one of {', '.join(RECEIVE_ID_TYPES)}")
    receive_id = required_string(call.body, "receive_id")
    msg_type, content = message_input(call.body)
    uuid = optional_string(call.body, "uuid", max_length=UUID_MAX_LENGTH)
    conversation = resolve_receiver(app, receive_id_type, receive_id)
    message = post_message(app, conversation, msg_type, content, uuid)
    return success(message_data(message, app))


@open_api("im.v1.message.reply", methods=["POST"])
def reply_message(call: Call, message_id: str) -> dict[str, Any]:
    app = call.tenant_app
    parent = visible_message(app, message_id)
    msg_type, content = message_input(call.body)
    uuid = optional_string(call.body, "uuid", max_length=UUID_MAX_LENGTH)
    conversation = conversation_of(app, parent)
    message = post_message(app, conversation, msg_type, content, uuid, reply_to=parent)
    return success(message_data(message, app))


@open_api("im.v1.message.patch", methods=["PATCH"])
def patch_message(call: Call, message_id: str) -> dict[str, Any]:
    app = call.tenant_app
    message = visible_message(app, message_id)
    check_updatable(app, message)
    throttle_message(message, answer=frequency_limited)
    content = required_string(call.body, "content")
    check_size(SandboxMessage.MsgType.INTERACTIVE, content)
    card = parse_content(SandboxMessage.MsgType.INTERACTIVE, content)
    if not (is_shared_card(card) and is_shared_card(json_object_or_none(message.content) or {})):
        raise card_error(
            None,
            "only shared cards can be updated: set config.update_multi to true in the card "
            "that was sent and in the new one",
        )
    replace_content(message, content)
    return success({}, msg="ok")


@open_api("interactive.v1.card.update", methods=["POST"])
def update_card(call: Call) -> dict[str, Any]:
    app = call.tenant_app
    token = call.body.get("token")
    if not isinstance(token, str) or not token.startswith("c-"):
        raise ApiError(UPDATE_TOKEN_MALFORMED, "the card update token is malformed (c-...)")
    card = call.body.get("card")
    if not isinstance(card, dict):
        raise ApiError(CARD_PARAM_INVALID, "card is required and must be a JSON object")
    row = usable_update_token(app, token)
    throttle_message(row.message, answer=lambda wait: rate_limited(wait))
    card = dict(card)
    open_ids = card.pop("open_ids", None)
    check_delayed_card(app, card, open_ids)
    spend_update_token(row)
    # A card that is not shared is updated for the listed people only on Feishu; the sandbox
    # keeps one copy of each message, so it replaces the card for everyone.
    replace_content(row.message, json.dumps(card, ensure_ascii=False))
    return {"code": 0, "msg": "ok"}


# --- Sending ----------------------------------------------------------------------------------


def message_input(body: dict[str, Any]) -> tuple[str, str]:
    """``msg_type`` and ``content`` of a send or reply, checked as Feishu checks them."""
    msg_type = required_string(body, "msg_type")
    content = required_string(body, "content")
    if msg_type not in SandboxMessage.MsgType.values:
        supported = ", ".join(SandboxMessage.MsgType.values)
        raise ApiError(INVALID_PARAM, f"invalid msg_type {msg_type!r}: the sandbox has {supported}")
    check_size(msg_type, content)
    parse_content(msg_type, content)
    return msg_type, content


def post_message(
    app: SandboxApp,
    conversation: Conversation,
    msg_type: str,
    content: str,
    uuid: str,
    *,
    reply_to: SandboxMessage | None = None,
) -> SandboxMessage:
    """Store a message from the app's bot, or return the one already sent with this ``uuid``
    within the hour (a duplicate posts nothing, so it spends no receiver budget)."""
    first = sent_with_uuid(app, uuid)
    if first is not None:
        return first
    throttle_receiver(conversation)
    return SandboxMessage.objects.create(
        app=app,
        chat=conversation.chat,
        user=conversation.user if conversation.chat is None else None,
        msg_type=msg_type,
        content=content,
        uuid=uuid,
        reply_to=reply_to,
    )


def sent_with_uuid(app: SandboxApp, uuid: str) -> SandboxMessage | None:
    if not uuid:
        return None
    return (
        SandboxMessage.objects.filter(
            app=app,
            sender__isnull=True,
            uuid=uuid,
            created_at__gte=timezone.now() - UUID_WINDOW,
        )
        .order_by("created_at", "id")
        .first()
    )


def resolve_receiver(app: SandboxApp, id_type: str, receive_id: str) -> Conversation:
    if id_type == "chat_id":
        chat = SandboxChat.objects.filter(chat_id=receive_id).first()
        if chat is not None:
            return group_conversation(app, chat)
        user = p2p_user(app, receive_id)
    else:
        user = find_user(app, id_type, receive_id)
    if user is None:
        raise ApiError(RECEIVE_ID_INVALID, f"The receive_id is invalid: no {id_type} {receive_id}")
    return direct_conversation(app, user)


def group_conversation(app: SandboxApp, chat: SandboxChat) -> Conversation:
    check_chat(
        chat, app, outside=ApiError(BOT_NOT_IN_CHAT, "The bot can not be outside the group.")
    )
    return Conversation(chat=chat)


def direct_conversation(app: SandboxApp, user: SandboxUser) -> Conversation:
    if not app.is_available_to(user):
        raise ApiError(USER_UNAVAILABLE, "Bot has NO availability to this user.")
    return Conversation(user=user)


def p2p_user(app: SandboxApp, chat_id: str) -> SandboxUser | None:
    """The person whose direct chat with ``app``'s bot has this chat_id, if any."""
    for identity in AppIdentity.objects.filter(app=app).select_related("user"):
        if p2p_chat_id(app, identity.user) == chat_id:
            return identity.user
    return None


def throttle_receiver(conversation: Conversation) -> None:
    if sandbox_limiter().acquire([Limit(conversation.limit_key, PER_RECEIVER_PER_SECOND, 1)]):
        raise frequency_limited(1)


def frequency_limited(_wait: float) -> ApiError:
    return ApiError(FREQUENCY_LIMIT, "This operation triggers the frequency limit.")


# --- Content ----------------------------------------------------------------------------------


def check_size(msg_type: str, content: str) -> None:
    limit = TEXT_MAX_BYTES if msg_type == SandboxMessage.MsgType.TEXT else CARD_MAX_BYTES
    size = len(content.encode())
    if size > limit:
        raise ApiError(
            CONTENT_TOO_LONG,
            f"The length of the message content reaches its limit ({size} bytes, the limit "
            f"for {msg_type} is {limit // 1024} KB).",
        )


def parse_content(msg_type: str, content: str) -> dict[str, Any]:
    """The content JSON, checked against the shape of its ``msg_type``."""
    try:
        value = json.loads(content)
    except ValueError:
        value = None
    if msg_type == SandboxMessage.MsgType.INTERACTIVE:
        return valid_card(value)
    if msg_type == SandboxMessage.MsgType.TEXT:
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            raise ApiError(INVALID_PARAM, 'invalid text content: expected {"text": "..."}')
        return value
    return valid_post(value)


def valid_post(value: Any) -> dict[str, Any]:
    """Rich text: ``{"zh_cn": {"title": ..., "content": [[{tag...}]]}}`` (or under "post")."""
    locales = value.get("post", value) if isinstance(value, dict) else None
    if (
        not isinstance(locales, dict)
        or not locales
        or not all(
            isinstance(body, dict)
            and isinstance(body.get("content"), list)
            and all(isinstance(line, list) for line in body["content"])
            for body in locales.values()
        )
    ):
        raise ApiError(
            INVALID_PARAM,
            'invalid post content: expected {"zh_cn": {"title": "...", "content": [[...]]}}',
        )
    return value


def valid_card(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise card_error(200621, "parse card json err: the content is not a JSON object")
    if value.get("type") == "template":
        raise card_error(200380, "template does not exist: the sandbox has no card templates")
    if not looks_like_card(value):
        raise card_error(200621, "parse card json err: the card has no header, elements or body")
    if "elements" in value and not isinstance(value["elements"], list):
        raise card_error(200621, "parse card json err: elements must be a list")
    return value


def card_error(sub_code: int | None, reason: str) -> ApiError:
    """230099 with the card service's own code in ``ext``, as Feishu reports card errors."""
    ext = f"ErrCode: {sub_code}; ErrMsg: {reason}" if sub_code else f"ErrMsg: {reason}"
    return ApiError(CARD_CONTENT_FAILED, f"Failed to create card content, ext={ext}")


def is_shared_card(card: dict[str, Any]) -> bool:
    """``config.update_multi``: default false in schema 1.0, true in schema 2.0 cards."""
    config = card.get("config") if isinstance(card.get("config"), dict) else {}
    if card.get("schema") == "2.0":
        return config.get("update_multi", True) is not False
    return config.get("update_multi") is True


# --- Existing messages --------------------------------------------------------------------------


def visible_message(app: SandboxApp, message_id: str) -> SandboxMessage:
    """A message this app's bot can see: in a chat it is in, or in its own direct chats."""
    message = (
        SandboxMessage.objects.filter(message_id=message_id)
        .select_related("app", "chat", "user", "sender")
        .first()
    )
    if message is None or (message.chat is None and message.app_id != app.pk):
        raise ApiError(INVALID_PARAM, f"invalid message_id {message_id}: no such message")
    return message


def conversation_of(app: SandboxApp, message: SandboxMessage) -> Conversation:
    if message.chat is not None:
        return group_conversation(app, message.chat)
    assert message.user is not None
    return direct_conversation(app, message.user)


def check_updatable(app: SandboxApp, message: SandboxMessage) -> None:
    if message.sender_id is not None or message.app_id != app.pk:
        raise ApiError(BOT_NOT_SENDER, "Bot is NOT the sender of the message.")
    if message.msg_type != SandboxMessage.MsgType.INTERACTIVE:
        raise ApiError(INVALID_PARAM, "only cards (msg_type interactive) can be updated")
    if message.chat is not None:
        # Only disbanding: the sandbox lets the sender update its card whether or not its bot
        # is still in the chat.
        check_chat(message.chat, app, outside=None)
    if timezone.now() - message.created_at > UPDATE_WINDOW:
        raise ApiError(
            UPDATE_WINDOW_PASSED, "Message can only be modified within 14 days after sending."
        )


def throttle_message(message: SandboxMessage, *, answer: Any) -> None:
    """5 updates per second per message, shared by PATCH and the delayed update."""
    key = f"sandbox:message:{message.message_id}"
    wait = sandbox_limiter().acquire([Limit(key, PER_MESSAGE_PER_SECOND, 1)])
    if wait > 0:
        raise answer(wait)


def replace_content(message: SandboxMessage, content: str) -> None:
    SandboxMessage.objects.filter(pk=message.pk).update(
        content=content, update_count=F("update_count") + 1, updated_at=timezone.now()
    )


def message_data(message: SandboxMessage, viewer: SandboxApp) -> dict[str, Any]:
    """Feishu's message object as ``viewer`` sees it (open_ids are per app)."""
    data: dict[str, Any] = {
        "message_id": message.message_id,
        "msg_type": message.msg_type,
        "create_time": epoch_ms(message.created_at),
        "update_time": epoch_ms(message.updated_at or message.created_at),
        "deleted": False,
        "updated": message.update_count > 0,
        "chat_id": chat_id_of(message),
        "sender": sender_of(message, viewer),
        "body": {"content": message.content},
    }
    if message.reply_to is not None:
        # Only replies carry these two (https://open.feishu.cn/document/server-docs/im-v1/message/intro).
        data["root_id"] = root_of(message).message_id
        data["parent_id"] = message.reply_to.message_id
    return data


def chat_id_of(message: SandboxMessage) -> str:
    if message.chat is not None:
        return message.chat.chat_id
    assert message.user is not None
    return p2p_chat_id(message.app, message.user)


def sender_of(message: SandboxMessage, viewer: SandboxApp) -> dict[str, str]:
    if message.sender is None:
        return {
            "id": message.app.app_id,
            "id_type": "app_id",
            "sender_type": "app",
            "tenant_key": tenant_key(),
        }
    return {
        "id": viewer.open_id_of(message.sender),
        "id_type": "open_id",
        "sender_type": "user",
        "tenant_key": tenant_key(),
    }


def root_of(message: SandboxMessage) -> SandboxMessage:
    """The first message of the thread ``message`` belongs to (itself when it starts one)."""
    root = message
    for _ in range(MAX_REPLY_DEPTH):
        if root.reply_to is None:
            return root
        root = root.reply_to
    return root


# --- Delayed card update ------------------------------------------------------------------------


def usable_update_token(app: SandboxApp, token: str) -> CardUpdateToken:
    row = (
        CardUpdateToken.objects.filter(token=token)
        .select_related("message", "message__app", "message__chat", "message__user")
        .first()
    )
    if row is None:
        raise ApiError(UPDATE_TOKEN_EXPIRED, "the card update token is invalid or has expired")
    if row.message.app_id != app.pk:
        raise ApiError(OTHER_APPS_CARD, "cannot update a card that another app sent")
    if row.expired():
        raise ApiError(UPDATE_TOKEN_EXPIRED, "the card update token has expired (30 minutes)")
    if row.used_up():
        raise ApiError(UPDATE_TOKEN_USED_UP, "the card update token was already used twice")
    return row


def check_delayed_card(app: SandboxApp, card: dict[str, Any], open_ids: Any) -> None:
    try:
        valid_card(card)
    except ApiError as error:
        raise ApiError(CARD_FORMAT_INVALID, error.msg) from None
    size = len(json.dumps(card, ensure_ascii=False).encode())
    if size > CARD_MAX_BYTES:
        raise ApiError(CARD_TOO_LARGE, f"the card is {size} bytes, more than 30 KB")
    if is_shared_card(card):
        return
    if not open_ids:
        raise ApiError(
            OPEN_IDS_REQUIRED,
            "open_ids is required for a card that is not shared (config.update_multi false)",
        )
    if not isinstance(open_ids, list) or not all(
        isinstance(open_id, str) and app.user_by_open_id(open_id) for open_id in open_ids
    ):
        raise ApiError(OPEN_IDS_INVALID, "open_ids holds ids that are not open_ids of this app")


def spend_update_token(row: CardUpdateToken) -> None:
    """One use, counted only if one is left (two concurrent calls cannot both take the last)."""
    spent = CardUpdateToken.objects.filter(pk=row.pk, uses__lt=CardUpdateToken.MAX_USES).update(
        uses=F("uses") + 1
    )
    if not spent:
        raise ApiError(UPDATE_TOKEN_USED_UP, "the card update token was already used twice")
