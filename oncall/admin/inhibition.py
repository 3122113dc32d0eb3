"""Noise reduction in the admin: inhibition rules (the channel's grouping, storm and flapping
settings are on the channel's page)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from oncall.models import InhibitRule


@admin.register(InhibitRule)
class InhibitRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "source", "action", "window_minutes", "enabled"]
    list_filter = ["enabled", "action", "channel"]
    search_fields = ["name"]
    autocomplete_fields = ["channel", "source"]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "channel", "source"]}),
        (
            _("When a new alert matches…"),
            {"fields": ["new_alert_condition"]},
        ),
        (
            _("…and an alert of an open incident matches, with equal values…"),
            {"fields": ["active_condition", "equal", "window_minutes"]},
        ),
        (_("…then the new alert is"), {"fields": ["action"]}),
    ]
