"""The bot's chats (synced from Feishu, read-only) and the people's linked accounts."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.feishu.models import FeishuChat, LinkedAccount
from oncall.admin import AdminMedia


@admin.register(FeishuChat)
class FeishuChatAdmin(admin.ModelAdmin):
    """Synced from Feishu: read-only here. A chat the bot left stays listed (as broken) so
    that whatever targets it can be fixed."""

    list_display = ["__str__", "app", "status_badge", "chat_id", "synced_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter), "status"]
    search_fields = ["name", "chat_id"]
    list_select_related = ["app"]
    readonly_fields = [
        "app",
        "chat_id",
        "name",
        "description",
        "status",
        "first_seen_at",
        "synced_at",
        "status_changed_at",
    ]
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, chat: FeishuChat) -> SafeString:
        css = "check-ok" if chat.usable else "check-failed"
        return format_html('<span class="{}">{}</span>', css, chat.get_status_display())


@admin.register(LinkedAccount)
class LinkedAccountAdmin(admin.ModelAdmin):
    """Console users linked to Feishu identities, one per user per app. Linking happens when a
    person opens the app from Feishu; removing a link here makes them link again."""

    list_display = ["user", "name", "email", "app", "open_id", "linked_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter)]
    search_fields = [
        "name",
        "email",
        "user__username",
        "user__email",
        "user__first_name",
        "user__last_name",
        "open_id",
    ]
    list_select_related = ["user", "app"]
    autocomplete_fields = ["user"]
    readonly_fields = ["linked_at", "updated_at"]
