"""Group chats and the directory: list the bot's chats, create a chat, add members, and find
people by email or mobile.

Feishu's pages (the codes below are theirs):
- list: https://open.feishu.cn/document/server-docs/group/chat/list
- create: https://open.feishu.cn/document/server-docs/group/chat/create
- add members: https://open.feishu.cn/document/server-docs/group/chat-member/create
- batch_get_id: https://open.feishu.cn/document/server-docs/contact-v3/user/batch_get_id

The app's availability range stands in for its contact data range: people outside it are
unknown to ``batch_get_id`` and cannot be invited, as Feishu treats people an app cannot see.
"""

from __future__ import annotations

import base64
import binascii
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from integrations.feishu_sandbox.api import (
    ApiError,
    Call,
    check_chat,
    external_user_id,
    find_user,
    invalid_field,
    open_api,
    optional_string,
    string_list,
    success,
    tenant_key,
    user_id_type_param,
)
from integrations.feishu_sandbox.models import SandboxApp, SandboxChat, SandboxUser

CHAT_INVALID_PARAM = 232001
CHAT_ID_INVALID = 232006
OPERATOR_NOT_IN_CHAT = 232011
USERS_NOT_VISIBLE = 232024
NO_VALID_MEMBERS = 232027
UNAVAILABLE_IDS = 232043
# "these ids not existed", by id type (https://open.feishu.cn/document/server-docs/group/chat-member/create).
NOT_EXISTED_CODES = {"open_id": 99992351, "user_id": 99992360, "union_id": 99992364}

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
MEMBERS_PER_CALL = 50
BOTS_PER_CALL = 5
LOOKUPS_PER_CALL = 50
CREATE_UUID_WINDOW = timedelta(hours=10)
UNNAMED_CHAT = "(no subject)"
CURSOR_PREFIX = "chats:"


# --- GET / POST im/v1/chats ------------------------------------------------------------------


@open_api({"GET": "im.v1.chat.list", "POST": "im.v1.chat.create"}, methods=["GET", "POST"])
def chats(call: Call) -> dict[str, Any]:
    """One path, two APIs: GET lists the bot's chats, POST creates one."""
    if call.request.method == "POST":
        return create_chat(call)
    return list_chats(call)


def list_chats(call: Call) -> dict[str, Any]:
    app = call.tenant_app
    id_type = user_id_type_param(call)
    page_size = page_size_param(call)
    after = decode_page_token(call.params.get("page_token", ""))
    # ByCreateTimeAsc (Feishu's default order); the primary key breaks ties and is the cursor.
    found = list(
        SandboxChat.objects.filter(bots=app, disbanded=False, pk__gt=after)
        .select_related("owner")
        .order_by("pk")[: page_size + 1]
    )
    page, has_more = found[:page_size], len(found) > page_size
    data: dict[str, Any] = {
        "items": [chat_item(app, chat, id_type) for chat in page],
        "has_more": has_more,
    }
    if has_more:
        data["page_token"] = encode_page_token(page[-1].pk)
    return success(data)


def page_size_param(call: Call) -> int:
    raw = call.params.get("page_size")
    if raw in (None, ""):
        return PAGE_SIZE_DEFAULT
    try:
        size = int(raw)
    except ValueError:
        raise invalid_field("page_size must be an integer") from None
    if not 1 <= size <= PAGE_SIZE_MAX:
        raise invalid_field(f"page_size must be between 1 and {PAGE_SIZE_MAX}")
    return size


def encode_page_token(last_pk: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_PREFIX}{last_pk}".encode()).decode()


def decode_page_token(token: str) -> int:
    """The primary key the previous page ended at (0 for the first page)."""
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        text = ""
    value = text.removeprefix(CURSOR_PREFIX)
    if not text.startswith(CURSOR_PREFIX) or not value.isdigit():
        raise ApiError(CHAT_INVALID_PARAM, "Your request contains an invalid page_token.")
    return int(value)


def chat_item(app: SandboxApp, chat: SandboxChat, id_type: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "chat_id": chat.chat_id,
        "avatar": "",
        "name": chat.name,
        "description": chat.description,
        "external": False,
        "tenant_key": tenant_key(),
        "chat_status": "dissolved" if chat.disbanded else "normal",
    }
    # Feishu leaves both owner fields out when a bot owns the chat.
    if chat.owner is not None:
        item["owner_id"] = external_user_id(app, chat.owner, id_type)
        item["owner_id_type"] = id_type
    return item


def create_chat(call: Call) -> dict[str, Any]:
    app = call.tenant_app
    id_type = user_id_type_param(call)
    uuid = call.params.get("uuid", "")
    if len(uuid) > 50:
        raise invalid_field("uuid is longer than 50 characters")
    name = optional_string(call.body, "name") or UNNAMED_CHAT
    description = optional_string(call.body, "description")
    user_ids = string_list(call.body, "user_id_list", max_items=MEMBERS_PER_CALL)
    bot_ids = string_list(call.body, "bot_id_list", max_items=BOTS_PER_CALL)
    owner_id = optional_string(call.body, "owner_id")
    earlier = chat_created_with_uuid(app, uuid)
    if earlier is not None:
        return success(created_chat_data(app, earlier, id_type))
    people = invitees(app, id_type, user_ids)
    owner = invitees(app, id_type, [owner_id])[0] if owner_id else None
    bots = invited_bots(app, bot_ids)
    with transaction.atomic():
        chat = SandboxChat.objects.create(
            name=name,
            description=description,
            owner=owner,
            create_uuid=uuid,
            created_by_app=app,
        )
        chat.members.add(*people, *([owner] if owner else []))
        chat.bots.add(app, *bots)
    return success(created_chat_data(app, chat, id_type))


def chat_created_with_uuid(app: SandboxApp, uuid: str) -> SandboxChat | None:
    if not uuid:
        return None
    return (
        SandboxChat.objects.filter(
            created_by_app=app,
            create_uuid=uuid,
            created_at__gte=timezone.now() - CREATE_UUID_WINDOW,
        )
        .select_related("owner")
        .order_by("pk")
        .first()
    )


def invitees(app: SandboxApp, id_type: str, ids: list[str]) -> list[SandboxUser]:
    """People to put in a new chat: every id must exist and be visible to the app."""
    people, missing, hidden = classify_people(app, id_type, ids)
    if missing:
        raise not_existed(id_type, missing)
    if hidden:
        raise ApiError(
            USERS_NOT_VISIBLE,
            "Users do not have the visibility of the app: " + ", ".join(hidden),
        )
    return people


def invited_bots(app: SandboxApp, app_ids: list[str]) -> list[SandboxApp]:
    bots = list(SandboxApp.objects.filter(app_id__in=app_ids).exclude(pk=app.pk))
    unknown = sorted(set(app_ids) - {bot.app_id for bot in bots} - {app.app_id})
    if unknown:
        raise ApiError(
            UNAVAILABLE_IDS, "Your request contains unavailable ids: " + ", ".join(unknown)
        )
    return bots


def created_chat_data(app: SandboxApp, chat: SandboxChat, id_type: str) -> dict[str, Any]:
    data = chat_item(app, chat, id_type)
    data |= {"chat_mode": "group", "chat_type": "private", "group_message_type": "chat"}
    data.pop("chat_status")
    return data


# --- POST im/v1/chats/{chat_id}/members ------------------------------------------------------


@open_api("im.v1.chat.members.create", methods=["POST"])
def add_members(call: Call, chat_id: str) -> dict[str, Any]:
    """``succeed_type`` 0 (default): unknown or invisible ids fail the call; 1: add the usable
    ids and list the others; 2: any unusable id fails the call (232043)."""
    app = call.tenant_app
    chat = chat_of_operator(app, chat_id)
    member_type = call.params.get("member_id_type") or "open_id"
    if member_type not in ("open_id", "union_id", "user_id", "app_id"):
        raise invalid_field("member_id_type must be open_id, union_id, user_id or app_id")
    succeed_type = call.params.get("succeed_type") or "0"
    if succeed_type not in ("0", "1", "2"):
        raise invalid_field("succeed_type must be 0, 1 or 2")
    ids = string_list(call.body, "id_list", max_items=MEMBERS_PER_CALL)
    if not ids:
        raise ApiError(NO_VALID_MEMBERS, "There are no valid members in the ID list.")
    if member_type == "app_id":
        return add_bots(chat, ids, succeed_type)
    people, missing, hidden = classify_people(app, member_type, ids)
    if succeed_type == "2" and (missing or hidden):
        raise ApiError(UNAVAILABLE_IDS, "Your request contains unavailable ids.")
    if succeed_type == "0" and missing:
        raise not_existed(member_type, missing)
    if succeed_type == "0" and hidden:
        raise ApiError(USERS_NOT_VISIBLE, "Users do not have the visibility of the app.")
    chat.members.add(*people)
    return success(member_lists(invalid=hidden, not_existed=missing))


def chat_of_operator(app: SandboxApp, chat_id: str) -> SandboxChat:
    chat = SandboxChat.objects.filter(chat_id=chat_id).first()
    if chat is None:
        raise ApiError(CHAT_ID_INVALID, "Your request specifies a chat_id which is invalid.")
    check_chat(
        chat, app, outside=ApiError(OPERATOR_NOT_IN_CHAT, "Operator can NOT be out of the chat.")
    )
    return chat


def add_bots(chat: SandboxChat, app_ids: list[str], succeed_type: str) -> dict[str, Any]:
    if len(app_ids) > BOTS_PER_CALL:
        raise invalid_field(f"at most {BOTS_PER_CALL} bots can be invited at once")
    bots = list(SandboxApp.objects.filter(app_id__in=app_ids))
    missing = [app_id for app_id in app_ids if app_id not in {bot.app_id for bot in bots}]
    if missing and succeed_type != "1":
        raise ApiError(UNAVAILABLE_IDS, "Your request contains unavailable ids.")
    chat.bots.add(*bots)
    return success(member_lists(invalid=[], not_existed=missing))


def member_lists(*, invalid: list[str], not_existed: list[str]) -> dict[str, list[str]]:
    return {
        "invalid_id_list": invalid,
        "not_existed_id_list": not_existed,
        # The sandbox's chats need no approval to join.
        "pending_approval_id_list": [],
    }


def classify_people(
    app: SandboxApp, id_type: str, ids: list[str]
) -> tuple[list[SandboxUser], list[str], list[str]]:
    """(people the app can invite, ids that match nobody, ids of people outside its range)."""
    people: list[SandboxUser] = []
    missing: list[str] = []
    hidden: list[str] = []
    for value in ids:
        person = find_user(app, id_type, value)
        if person is None:
            missing.append(value)
        elif not app.is_available_to(person):
            hidden.append(value)
        else:
            people.append(person)
    return people, missing, hidden


def not_existed(id_type: str, ids: list[str]) -> ApiError:
    code = NOT_EXISTED_CODES.get(id_type, UNAVAILABLE_IDS)
    return ApiError(code, f"these {id_type}s not existed: {', '.join(ids)}")


# --- POST contact/v3/users/batch_get_id --------------------------------------------------------


@open_api("contact.v3.user.batch_get_id", methods=["POST"])
def batch_get_id(call: Call) -> dict[str, Any]:
    """Each email and mobile comes back in order; ``user_id`` is left out for people the app
    cannot see or who do not exist (Feishu's answer for both)."""
    app = call.tenant_app
    id_type = user_id_type_param(call)
    emails = string_list(call.body, "emails", max_items=LOOKUPS_PER_CALL)
    mobiles = string_list(call.body, "mobiles", max_items=LOOKUPS_PER_CALL)
    user_list = [
        contact_entry(app, id_type, "email", email, person_by_email(email)) for email in emails
    ] + [
        contact_entry(app, id_type, "mobile", mobile, person_by_mobile(mobile))
        for mobile in mobiles
    ]
    return success({"user_list": user_list})


def person_by_email(email: str) -> SandboxUser | None:
    return SandboxUser.objects.filter(email__iexact=email).first() if email else None


def person_by_mobile(mobile: str) -> SandboxUser | None:
    """Mainland China numbers may come without +86 (Feishu's rule); others need their code."""
    if not mobile:
        return None
    candidates = {mobile} if mobile.startswith("+") else {mobile, "+86" + mobile}
    return SandboxUser.objects.filter(mobile__in=candidates).first()


def contact_entry(
    app: SandboxApp, id_type: str, key: str, value: str, person: SandboxUser | None
) -> dict[str, Any]:
    entry: dict[str, Any] = {key: value}
    if person is not None and app.is_available_to(person):
        entry["user_id"] = external_user_id(app, person, id_type)
        entry["status"] = {
            "is_frozen": False,
            "is_resigned": False,
            "is_activated": True,
            "is_exited": False,
            "is_unjoin": False,
        }
    return entry
