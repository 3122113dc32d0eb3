"""Silences of channels and maintenance windows of channels and sources (``oncall.noise``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from oncall.admin.shared import AdminMedia
from oncall.admin.structured import ConditionField
from oncall.models import MaintenanceWindow, Silence
from oncall.models.escalation import DAY_NAMES, known_time_zones
from oncall.noise.silences import period_end


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in known_time_zones()]


class SilenceForm(forms.ModelForm):
    """Days as tick boxes, the condition as rows and the time zone from a list, instead of
    raw JSON."""

    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(DAY_NAMES)),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Days"),
        help_text=_("Every week: the days the silence starts on."),
    )
    time_zone = forms.ChoiceField(choices=_time_zone_choices, label=_("Time zone"))

    class Meta:
        model = Silence
        fields = [
            "channel",
            "name",
            "enabled",
            "behaviour",
            "condition",
            "kind",
            "starts_at",
            "ends_at",
            "weekdays",
            "start_time",
            "end_time",
            "time_zone",
        ]
        field_classes = {"condition": ConditionField}


class ActiveFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("expired", _("expired (one time, ended)")), ("current", _("not expired"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        ended = {"kind": Silence.Kind.ONCE, "ends_at__lte": timezone.now()}
        if self.value() == "expired":
            return queryset.filter(**ended)
        if self.value() == "current":
            return queryset.exclude(**ended)
        return queryset


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = ["name", "channel", "kind", "behaviour", "enabled", "active_until", "created_by"]
    list_filter = [ActiveFilter, "kind", "behaviour", "enabled", "channel"]
    search_fields = ["name"]
    autocomplete_fields = ["channel"]
    readonly_fields = ["from_incident", "created_by", "created_at", "active_until"]
    fieldsets = [
        (None, {"fields": ["channel", "name", "enabled", "behaviour", "condition"]}),
        (_("When"), {"fields": ["kind", "starts_at", "ends_at"]}),
        (_("Every week"), {"fields": ["weekdays", "start_time", "end_time", "time_zone"]}),
        (_("Origin"), {"fields": ["from_incident", "created_by", "created_at", "active_until"]}),
    ]
    Media = AdminMedia

    @admin.display(description=_("active until"))
    def active_until(self, silence: Silence) -> str:
        if not silence.pk:
            return ""
        end = period_end(silence, timezone.now())
        return timezone.localtime(end).strftime("%Y-%m-%d %H:%M") if end else "—"

    def save_model(self, request: HttpRequest, obj: Silence, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "source", "starts_at", "ends_at", "running"]
    list_filter = ["channel", ("source", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description"]
    autocomplete_fields = ["channel"]
    fields = ["name", "description", "channel", "source", "starts_at", "ends_at", "created_by"]
    readonly_fields = ["created_by"]
    date_hierarchy = "starts_at"
    Media = AdminMedia

    @admin.display(description=_("running now"), boolean=True)
    def running(self, window: MaintenanceWindow) -> bool:
        return window.is_active

    def save_model(self, request: HttpRequest, obj: MaintenanceWindow, form, change: bool) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)
