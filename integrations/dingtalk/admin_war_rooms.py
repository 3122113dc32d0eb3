"""The admin's list of DingTalk war rooms (``war_rooms``): read-only, as the rooms are made by
the incident's "Open a DingTalk war room" action on every surface, never typed in here."""

from __future__ import annotations

from django.contrib import admin

from integrations.chatkit.admin_war_rooms import WarRoomAdmin
from integrations.dingtalk.models import DingTalkWarRoom


@admin.register(DingTalkWarRoom)
class DingTalkWarRoomAdmin(WarRoomAdmin):
    search_fields = ["name", "group__open_conversation_id", "chat_id", "incident__title"]
    readonly_fields = [
        "incident",
        "app",
        "state",
        "name",
        "group",
        "chat_id",
        "requested_by",
        "requested_via",
        "chosen_people",
        "invited_people",
        "attempt",
        "last_error",
        "created_at",
        "opened_at",
    ]
