"""The admin's list of a platform's war rooms (``chatkit.war_rooms``): which incidents have a
room, in what state, who asked, and why one could not be opened. Rooms are made by responders
and rules, never typed in here: read-only. A platform subclasses ``WarRoomAdmin`` with its
model's fields (its group, its own columns) and registers it."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from oncall.admin import AdminMedia


class WarRoomAdmin(admin.ModelAdmin):
    list_display = ["__str__", "incident", "app", "state_badge", "requested_by", "created_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter), "state"]
    list_select_related = ["incident", "app", "requested_by"]
    exclude = ["updated_at"]
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, room: Any) -> SafeString:
        State = self.model.State
        css = {State.OPEN: "check-ok", State.FAILED: "check-failed"}
        return format_html(
            '<span class="{}">{}</span>', css.get(room.state, ""), room.get_state_display()
        )
