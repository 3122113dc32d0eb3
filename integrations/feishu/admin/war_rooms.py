"""The admin's list of war rooms: which incidents have a Feishu group chat, who asked, and why
one could not be opened (in Feishu's words turned into an admin's). Rooms are made by
responders and rules, never here: read-only."""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.chatkit import admin_war_rooms
from integrations.feishu.models import WarRoom
from integrations.feishu.war_rooms import chat_link


@admin.register(WarRoom)
class WarRoomAdmin(admin_war_rooms.WarRoomAdmin):
    search_fields = ["name", "chat__chat_id", "incident__title"]
    list_select_related = ["incident", "app", "requested_by", "chat"]
    readonly_fields = [
        "incident",
        "app",
        "state",
        "name",
        "chat_link_field",
        "requested_by",
        "requested_via",
        "chosen_people",
        "invited_people",
        "attempt",
        "pinned_message_id",
        "pin_error",
        "last_error",
        "created_at",
        "opened_at",
    ]
    exclude = ["chat", "updated_at"]

    @admin.display(description=_("chat"))
    def chat_link_field(self, room: WarRoom) -> SafeString | str:
        if room.chat is None:
            return "—"
        url = chat_link(room.app, room.chat.chat_id)
        return format_html('<a href="{}">{}</a>', url, room.chat.chat_id)
