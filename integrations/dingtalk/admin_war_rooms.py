"""The admin's list of DingTalk war rooms (``war_rooms``): read-only, as the rooms are made by
the incident's "Open a DingTalk war room" action on every surface, never typed in here."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.dingtalk.models import DingTalkWarRoom
from oncall.admin import AdminMedia

State = DingTalkWarRoom.State


@admin.register(DingTalkWarRoom)
class DingTalkWarRoomAdmin(admin.ModelAdmin):
    list_display = ["__str__", "incident", "app", "state_badge", "requested_by", "created_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter), "state"]
    search_fields = ["name", "group__open_conversation_id", "chat_id", "incident__title"]
    list_select_related = ["incident", "app", "requested_by"]
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
    exclude = ["updated_at"]
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, room: DingTalkWarRoom) -> SafeString:
        css = {State.OPEN: "check-ok", State.FAILED: "check-failed"}
        return format_html(
            '<span class="{}">{}</span>', css.get(room.state, ""), room.get_state_display()
        )
