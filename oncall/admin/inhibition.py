"""Noise reduction in the admin: inhibition rules (the channel's grouping, storm and flapping
settings are on the channel's page)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from oncall.admin.structured import ConditionField, keys_field
from oncall.models import InhibitRule


class InhibitRuleForm(forms.ModelForm):
    """Conditions as matcher rows and the equal keys as a list, not JSON."""

    class Meta:
        model = InhibitRule
        fields = ["new_alert_condition", "active_condition", "equal"]  # with the fieldsets
        field_classes = {
            "new_alert_condition": ConditionField,
            "active_condition": ConditionField,
            "equal": keys_field,
        }


@admin.register(InhibitRule)
class InhibitRuleAdmin(admin.ModelAdmin):
    form = InhibitRuleForm
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
