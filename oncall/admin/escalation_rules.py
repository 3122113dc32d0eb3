"""Escalation rules with their levels, and each chat platform's targets on them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from oncall.admin.shared import AdminMedia
from oncall.admin.structured import MatchersField
from oncall.events import Severity
from oncall.models import (
    EscalationLevel,
    EscalationRule,
)
from oncall.models.escalation import DAY_NAMES, known_time_zones
from oncall.platforms import (
    level_has_platform_targets,
    platform_level_form_fields,
    platform_rule_form_fields,
    rule_problems,
    save_platform_targets,
    validate_platform_targets,
)

WEEKDAYS = list(enumerate(DAY_NAMES))


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in known_time_zones()]


def _model_help(field: str) -> str:
    # The lazy text itself: str() here would fix it in the language of the import.
    return EscalationRule._meta.get_field(field).help_text


class EscalationRuleForm(forms.ModelForm):
    """Severities and days as tick boxes, matchers as rows, the time zone from a list, instead
    of raw JSON."""

    severities = forms.TypedMultipleChoiceField(
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("severities"),
        help_text=_("None ticked: any severity."),
    )
    days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("weekdays"),
        help_text=_("The days the window starts on. None ticked: every day."),
    )
    timezone = forms.ChoiceField(
        choices=_time_zone_choices, label=_("timezone"), help_text=_model_help("timezone")
    )

    class Meta:
        model = EscalationRule
        fields = [
            "channel",
            "name",
            "position",
            "enabled",
            "severities",
            "matchers",
            "days",
            "start_time",
            "end_time",
            "timezone",
            "stop_when",
            "repeat_rule_times",
            "notification_template",
        ]
        field_classes = {"matchers": MatchersField}


class EscalationLevelFormSet(forms.BaseInlineFormSet):
    """Checks what only the whole form knows: a rule has levels, a level has targets, and the
    chat platforms' targets fit the rule being saved (e.g. chats of the app that delivers it:
    ``EscalationRuleAdmin.save_form`` keeps the rule form's platform values for this)."""

    def clean(self) -> None:
        super().clean()
        levels = [
            form
            for form in self.forms
            if form.cleaned_data and not (self.can_delete and self._should_delete_form(form))
        ]
        if not levels:
            raise ValidationError(_("A rule needs at least one level."))
        valid = [form for form in levels if not form.errors]
        for form in valid:
            try:
                EscalationLevel.validate_targets(
                    users=form.cleaned_data.get("users") or [],
                    schedules=form.cleaned_data.get("schedules") or [],
                    notify_channel_members=form.cleaned_data.get("notify_channel_members", False),
                    platform_targets=level_has_platform_targets(form.cleaned_data),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
        rule_values = getattr(self.instance, "platform_values", {})
        errors = validate_platform_targets(
            self.instance, rule_values, [form.cleaned_data for form in valid]
        )
        for index, level_errors in errors.items():
            if isinstance(index, int):
                for field, messages_ in level_errors.items():
                    valid[index].add_error(field, messages_)


class EscalationLevelForm(forms.ModelForm):
    """A level, with the targets the chat platforms add (``EscalationLevelInline.get_formset``
    declares their fields on a subclass; their initial values are read here)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An ordering key, not the number people read ("Level 1" on the timeline, "level 1"
        # in the header above): levels are numbered from 1 in this order.
        self.fields["position"].label = _("Order")
        self.fields["position"].help_text = _(
            "Levels run from the lowest to the highest, and are numbered 1, 2, … in that order."
        )
        if self.instance.pk:
            for name, field in platform_level_form_fields(self.instance).items():
                self.initial.setdefault(name, field.initial)


class EscalationLevelInline(admin.StackedInline):
    model = EscalationLevel
    formset = EscalationLevelFormSet
    fields = [
        "position",
        "users",
        "schedules",
        "notify_channel_members",
        "escalate_after_minutes",
        ("repeat_every_minutes", "repeat_times"),
        "summary",
    ]
    readonly_fields = ["summary"]
    autocomplete_fields = ["users"]
    ordering = ["position", "id"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list:
        fields = list(super().get_fields(request, obj))
        extra = list(platform_level_form_fields(None))
        at = fields.index("notify_channel_members") + 1
        return [*fields[:at], *extra, *fields[at:]]

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # Declared on a subclass, or the form factory refuses names that are not model fields.
        kwargs["form"] = type(
            "EscalationLevelForm", (EscalationLevelForm,), platform_level_form_fields(None)
        )
        return super().get_formset(request, obj, **kwargs)

    def get_extra(self, request: HttpRequest, obj: EscalationRule | None = None, **kwargs) -> int:
        return 1 if obj is None else 0  # a new rule starts with one empty level

    @admin.display(description=_("summary"))
    def summary(self, level: EscalationLevel) -> str:
        return level.describe() if level.pk else _("Shown after saving.")


@admin.register(EscalationRule)
class EscalationRuleAdmin(admin.ModelAdmin):
    form = EscalationRuleForm
    list_display = ["channel", "position", "name", "enabled", "conditions", "level_count"]
    list_display_links = ["name"]
    list_filter = [("channel", admin.RelatedOnlyFieldListFilter), "enabled"]
    search_fields = ["name", "channel__name"]
    list_select_related = ["channel"]
    ordering = ["channel__name", "position", "id"]
    autocomplete_fields = ["channel"]
    readonly_fields = ["delivery_warnings"]
    inlines = [EscalationLevelInline]
    fieldsets = [
        (None, {"fields": ["channel", "name", "position", "enabled", "delivery_warnings"]}),
        (_("Which incidents"), {"fields": ["severities", "matchers"]}),
        (_("When"), {"fields": ["days", ("start_time", "end_time"), "timezone"]}),
        (_("Delivery"), {"fields": ["stop_when", "repeat_rule_times", "notification_template"]}),
    ]
    Media = AdminMedia

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> list:
        # The chat platforms' fields (Feishu: the app that delivers the cards) go to Delivery.
        fieldsets = [(name, {**options}) for name, options in super().get_fieldsets(request, obj)]
        delivery = fieldsets[-1][1]
        delivery["fields"] = [*platform_rule_form_fields(obj), *delivery["fields"]]
        return fieldsets

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["form"] = type("EscalationRuleForm", (self.form,), platform_rule_form_fields(obj))
        return super().get_form(request, obj, change, **kwargs)

    def save_form(self, request: HttpRequest, form: forms.ModelForm, change: bool) -> Any:
        rule = super().save_form(request, form, change)
        # Read by the levels' formset, which checks the levels against them.
        rule.platform_values = {
            name: form.cleaned_data.get(name) for name in platform_rule_form_fields(None)
        }
        return rule

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        rule = form.instance
        levels = [
            (level_form.instance, level_form.cleaned_data)
            for formset in formsets
            if formset.model is EscalationLevel
            for level_form in formset.forms
            if level_form.instance.pk
            and level_form.cleaned_data
            and not level_form.cleaned_data.get("DELETE")
        ]
        save_platform_targets(rule, getattr(rule, "platform_values", {}), levels)

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationRule]:
        return super().get_queryset(request).annotate(level_total=Count("levels"))

    @admin.display(description=_("conditions"))
    def conditions(self, rule: EscalationRule) -> str:
        return rule.describe_conditions()

    @admin.display(description=_("levels"), ordering="level_total")
    def level_count(self, rule: EscalationRule) -> int:
        return rule.level_total

    @admin.display(description=_("targets that won't receive anything"))
    def delivery_warnings(self, rule: EscalationRule) -> SafeString | str:
        if not rule.pk:
            return _("Checked after saving.")
        problems = rule_problems(rule)
        if not problems:
            return _("None: every target is reachable.")
        return format_html(
            '<ul class="delivery-warnings errorlist">{}</ul>',
            format_html_join("", "<li>{}</li>", ((problem,) for problem in problems)),
        )
