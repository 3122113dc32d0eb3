"""The admin's list of war rooms: which incidents have a Feishu group chat, who asked, and why
one could not be opened (in Feishu's words turned into an admin's). Rooms are made by
responders and rules, never here: read-only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.feishu.models import WarRoom
from integrations.feishu.war_rooms import chat_link
from oncall.admin import AdminMedia


@admin.register(WarRoom)
class WarRoomAdmin(admin.ModelAdmin):
    list_display = ["__str__", "incident", "app", "state_badge", "requested_by", "created_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter), "state"]
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
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, room: WarRoom) -> SafeString:
        css = {WarRoom.State.OPEN: "check-ok", WarRoom.State.FAILED: "check-failed"}
        return format_html(
            '<span class="{}">{}</span>', css.get(room.state, ""), room.get_state_display()
        )

    @admin.display(description=_("chat"))
    def chat_link_field(self, room: WarRoom) -> SafeString | str:
        if room.chat is None:
            return "—"
        url = chat_link(room.app, room.chat.chat_id)
        return format_html('<a href="{}">{}</a>', url, room.chat.chat_id)
