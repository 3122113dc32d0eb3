"""Shift swaps, read-only: the record of who gave away which time and who agreed. Swaps are
asked and taken by the people themselves (schedule pages, API, chat); an admin who needs to
change who is on call edits the override a swap made, or adds one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from oncall.admin.shared import AdminMedia
from oncall.models import ShiftSwap

RECENT_DAYS = 30


@admin.register(ShiftSwap)
class ShiftSwapAdmin(admin.ModelAdmin):
    list_display = ["__str__", "schedule", "requester", "start", "end", "status", "taken_by"]
    list_filter = ["status", "schedule"]
    list_select_related = ["schedule", "requester", "taken_by"]
    search_fields = ["schedule__name", "requester__username", "taken_by__username", "note"]
    date_hierarchy = "start"
    fields = [
        "schedule",
        "requester",
        "start",
        "end",
        "note",
        "status",
        "taken_by",
        "taken_at",
        "override_link",
        "created_at",
        "closed_at",
    ]
    readonly_fields = fields
    Media = AdminMedia

    @admin.display(description=_("override"))
    def override_link(self, swap: ShiftSwap) -> SafeString | str:
        if swap.override_id is None:
            return "—"
        try:
            url = reverse("admin:oncall_scheduleoverride_change", args=[swap.override_id])
        except NoReverseMatch:  # overrides not in this admin
            return str(swap.override)
        return format_html('<a href="{}">{}</a>', url, swap.override)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ShiftSwapInline(admin.TabularInline):
    """A schedule's open swaps and those of the last :data:`RECENT_DAYS` days, read-only, for
    the schedule's admin page (``inlines = [..., ShiftSwapInline]``)."""

    model = ShiftSwap
    fields = ["requester", "start", "end", "note", "status", "taken_by", "taken_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("shift swaps (open, and of the last 30 days)")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ShiftSwap]:
        since = timezone.now() - timedelta(days=RECENT_DAYS)
        return (
            super()
            .get_queryset(request)
            .filter(Q(status=ShiftSwap.Status.OPEN) | Q(created_at__gte=since))
            .select_related("requester", "taken_by")
            .order_by("-start")
        )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
