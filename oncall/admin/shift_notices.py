"""The shift-start notices given (``oncall.schedules.notices``), read only: whom the chat
platforms reached for each shift start, or why not."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from oncall.admin.shared import AdminMedia
from oncall.models import ShiftNotice


@admin.register(ShiftNotice)
class ShiftNoticeAdmin(admin.ModelAdmin):
    list_display = ["shift_start", "schedule", "user", "shift_end", "said_outcome"]
    list_filter = [("schedule", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["schedule", "user"]
    search_fields = ["schedule__name", "user__username", "user__first_name", "user__last_name"]
    date_hierarchy = "shift_start"
    fields = ["schedule", "user", "shift_start", "shift_end", "created_at", "said_outcome"]
    readonly_fields = fields
    Media = AdminMedia

    @admin.display(description=_("outcome"))
    def said_outcome(self, notice: ShiftNotice) -> str:
        return notice.outcome_text  # in the reader's language, not the stored English

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # given by the notices task only

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
