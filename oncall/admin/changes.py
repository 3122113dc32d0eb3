"""Changes that change sources reported: a read-only list to look them up (they are written only
by pushes, ``oncall.changes``)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from oncall.models import ChangeEvent


@admin.register(ChangeEvent)
class ChangeEventAdmin(admin.ModelAdmin):
    list_display = ["changed_at", "change_key", "title", "status", "channel", "source"]
    list_filter = [
        "status",
        ("channel", admin.RelatedOnlyFieldListFilter),
        ("source", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["change_key", "title"]
    date_hierarchy = "changed_at"
    list_select_related = ["channel", "source"]
    readonly_fields = [
        "public_id",
        "channel",
        "source",
        "change_key",
        "title",
        "description",
        "link",
        "labels",
        "status",
        "started_at",
        "changed_at",
        "event_count",
        "received_at",
        "updated_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
