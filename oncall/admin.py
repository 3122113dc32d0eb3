"""The admins' screen: channels, alert sources with their routes, alerts and incidents.

Incident state is read-only here: admin actions change it through the lifecycle service, like
every other surface, so the timeline and the announcements stay right.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from oncall import escalation, lifecycle
from oncall.events import Severity
from oncall.models import (
    ActionSource,
    Alert,
    AlertSource,
    ApiToken,
    Channel,
    EscalationLevel,
    EscalationRule,
    InboundEvent,
    Incident,
    Route,
    TimelineEntry,
)
from oncall.models.escalation import DAY_NAMES, known_time_zones
from oncall.platforms import (
    level_has_platform_targets,
    platform_level_form_fields,
    platform_rule_form_fields,
    platforms,
    rule_problems,
    save_platform_targets,
    validate_platform_targets,
)
from oncall.timeline import Actor

RECENT_EVENTS = 20


class AdminMedia:
    """The console's additions to an admin's media, as its ``Media`` (``Media = AdminMedia``),
    which Django adds to the admin's own (jQuery, core.js, ...). A ``media`` attribute would
    replace those instead: the time and filter widgets then failed ("quickElement is not
    defined") and an inline's "add another" left its boxes empty."""

    js = ["oncall/copy.js"]
    css = {"all": ["oncall/admin.css"]}


def copy_field(element_id: str, value: str) -> SafeString:
    """A read-only value with a Copy button (for URLs admins paste into other systems), its box
    as wide as the value (``size``; the style sheet keeps it within the page) so that the whole
    URL can be read before it is copied."""
    return format_html(
        '<span class="copy-field"><input id="{}" type="text" readonly value="{}" size="{}" '
        'aria-label="URL"><button type="button" class="button" data-copy-target="{}">Copy'
        "</button></span>",
        element_id,
        value,
        len(value) + 2,
        element_id,
    )


def severity_badge(severity: str, label: str) -> SafeString:
    return format_html('<span class="severity-{}">{}</span>', severity, label)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["name", "member_count", "open_incidents", "auto_close", "grouping"]
    list_filter = ["auto_close"]
    search_fields = ["name", "description"]
    filter_horizontal = ["members", "teams"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        ("Who may act on its incidents", {"fields": ["members", "teams"]}),
        (
            "Grouping and closing",
            {"fields": ["group_by_labels", "group_window_minutes", "auto_close"]},
        ),
        ("Escalation", {"fields": ["escalation_rule_links"]}),
    ]
    readonly_fields = ["escalation_rule_links"]

    @admin.display(description="escalation rules (first match wins)")
    def escalation_rule_links(self, channel: Channel) -> SafeString | str:
        if not channel.pk:
            return "A Default rule is created with the channel."
        rules = channel.escalation_rules.order_by("position", "id")
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a>{} <span class="help">{}</span></li>',
            (
                (
                    reverse("admin:oncall_escalationrule_change", args=[rule.pk]),
                    rule.name,
                    "" if rule.enabled else " (disabled)",
                    rule.describe_conditions(),
                )
                for rule in rules
            ),
        )
        add_url = reverse("admin:oncall_escalationrule_add") + f"?channel={channel.pk}"
        return format_html(
            '<ol class="escalation-rules">{}</ol><a href="{}">Add a rule</a>',
            items or format_html("<li>{}</li>", "None: nobody is notified."),
            add_url,
        )

    @admin.display(description="members")
    def member_count(self, channel: Channel) -> int:
        return channel.members.count()

    @admin.display(description="open incidents")
    def open_incidents(self, channel: Channel) -> int:
        return channel.incidents.exclude(status=Incident.Status.CLOSED).count()

    @admin.display(description="grouping")
    def grouping(self, channel: Channel) -> str:
        if not channel.group_by_labels:
            return "one incident per alert"
        window = (
            f" within {channel.group_window_minutes} min" if channel.group_window_minutes else ""
        )
        return f"by {', '.join(channel.group_by_labels)}{window}"


class RouteInline(admin.StackedInline):
    model = Route
    extra = 0
    fields = ["position", "name", "matchers", "channels", "stop", "is_default"]
    filter_horizontal = ["channels"]
    ordering = ["is_default", "position"]


@admin.register(AlertSource)
class AlertSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "routing", "enabled", "created_at"]
    list_filter = ["kind", "enabled", ("channel", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description"]
    readonly_fields = ["push_url_field", "recent_events"]
    autocomplete_fields = ["channel"]
    actions = ["rotate_tokens"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "description", "enabled"]}),
        ("Where alerts go", {"fields": ["channel"]}),
        ("Push URL", {"fields": ["push_url_field"]}),
        ("Severity", {"fields": ["severity_overrides"]}),
        ("Recent events", {"fields": ["recent_events"]}),
    ]
    Media = AdminMedia

    def get_inlines(self, request: HttpRequest, obj: AlertSource | None) -> list:
        if obj is None:
            return []
        return [RouteInline] if obj.is_shared else []

    def response_add(
        self, request: HttpRequest, obj: AlertSource, post_url_continue: str | None = None
    ) -> HttpResponse:
        """A new source's page, not the list: its push URL, to copy into the sender, is there."""
        if _lands_on_the_list(request):
            return self._back_to_push_url(request, obj, "added")
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: AlertSource) -> HttpResponse:
        if _lands_on_the_list(request):
            return self._back_to_push_url(request, obj, "saved")
        return super().response_change(request, obj)

    def _back_to_push_url(self, request: HttpRequest, source: AlertSource, done: str) -> Any:
        self.message_user(
            request,
            f"The alert source “{source}” was {done}. Its push URL is below: copy it into "
            "the sender's configuration.",
            messages.SUCCESS,
        )
        return redirect("admin:oncall_alertsource_change", source.pk)

    @admin.display(description="routing")
    def routing(self, source: AlertSource) -> str:
        return f"private: {source.channel}" if source.channel_id else "shared (routes)"

    @admin.display(description="push URL")
    def push_url_field(self, source: AlertSource) -> SafeString | str:
        if not source.pk:
            return "Shown after saving."
        return copy_field(f"push-url-{source.pk}", source.push_url)

    @admin.display(description="recent events (newest first)")
    def recent_events(self, source: AlertSource) -> SafeString | str:
        events = source.inbound_events.order_by("-received_at")[:RECENT_EVENTS]
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:oncall_inboundevent_change", args=[e.pk]),
                    localize(localtime(e.received_at)),
                    e.get_status_display(),
                    e.event_count,
                    " ".join(e.notes) or e.error,
                )
                for e in events
            ),
        )
        if not rows:
            return "Nothing received yet."
        return format_html(
            "<table><thead><tr><th>received</th><th>status</th><th>events</th><th>notes</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Rotate the push token (the old push URL stops working)")
    def rotate_tokens(self, request: HttpRequest, queryset: QuerySet[AlertSource]) -> None:
        for source in queryset:
            source.rotate_token()
        self.message_user(request, f"New push URLs for {queryset.count()} source(s).")


def _lands_on_the_list(request: HttpRequest) -> bool:
    """Django's plain "Save" (not "and continue editing", "and add another", "as new", nor a
    pop-up's), which would go back to the list."""
    buttons = {"_continue", "_addanother", "_saveasnew", IS_POPUP_VAR}
    return not buttons & set(request.POST)


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "status", "event_count", "attempts"]
    list_filter = ["status", ("source", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "received_at"
    readonly_fields = [
        "request_id",
        "source",
        "received_at",
        "status",
        "events",
        "notes",
        "attempts",
        "error",
        "processed_at",
        "body_bytes",
    ]
    list_select_related = ["source"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class AlertInline(admin.TabularInline):
    model = Alert
    fields = ["title", "severity", "status", "event_count", "first_seen", "last_seen"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True


class TimelineInline(admin.TabularInline):
    model = TimelineEntry
    fields = ["created_at", "kind", "message", "actor", "source"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


INCIDENT_STATE_FIELDS = [
    "number",
    "status",
    "severity",
    "snoozed_until",
    "claimed_by",
    "claimed_at",
    "closed_by",
    "closed_at",
    "alert_count",
    "last_alert_at",
    "created_at",
    "public_id",
]


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = [
        "number_label",
        "title",
        "severity_label",
        "status",
        "channel",
        "claimed_by",
        "alert_count",
        "created_at",
    ]
    list_display_links = ["number_label", "title"]
    list_filter = ["status", "severity", "channel"]
    search_fields = ["title", "=number"]
    readonly_fields = [*INCIDENT_STATE_FIELDS, "channel", "escalation"]
    fields = ["title", "channel", *INCIDENT_STATE_FIELDS, "escalation"]
    list_select_related = ["channel", "claimed_by"]
    inlines = [AlertInline, TimelineInline]
    actions = ["claim", "unclaim", "close", "reopen", "wake"]
    date_hierarchy = "created_at"
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # incidents come from alerts

    def get_inlines(self, request: HttpRequest, obj: Incident | None) -> list:
        # Chat platforms add theirs (Feishu's card deliveries).
        extra = [inline for p in platforms() for inline in p.incident_admin_inlines()]
        return [*self.inlines, *extra]

    @admin.display(description="escalation")
    def escalation(self, incident: Incident) -> str:
        rule = incident.escalation_rule
        if rule is None:
            return "No rule matched."
        if incident.next_escalation_at is None:
            return f"“{rule.name}”: nothing planned."
        when = localize(localtime(incident.next_escalation_at))
        level = escalation.next_level(incident)
        if level is None:
            return f"“{rule.name}”: every level notified; ends at {when}."
        return f"“{rule.name}”: level {level} at {when}."

    @admin.display(description="#", ordering="number")
    def number_label(self, incident: Incident) -> str:
        return f"#{incident.number}"

    @admin.display(description="severity", ordering="severity")
    def severity_label(self, incident: Incident) -> SafeString:
        return severity_badge(incident.severity, incident.get_severity_display())

    def _run(self, request: HttpRequest, queryset: QuerySet[Incident], action) -> None:
        actor = Actor(request.user, ActionSource.WEB)
        for incident in queryset:
            try:
                outcome = action(incident, actor)
            except (lifecycle.LifecycleError, PermissionDenied) as exc:
                text = getattr(exc, "message", None) or str(exc)
                self.message_user(request, f"#{incident.number}: {text}", messages.WARNING)
            else:
                self.message_user(request, f"#{incident.number}: {outcome.message}")

    @admin.action(description="Claim selected incidents")
    def claim(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.claim)

    @admin.action(description="Unclaim selected incidents")
    def unclaim(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.unclaim)

    @admin.action(description="Close selected incidents")
    def close(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.close)

    @admin.action(description="Reopen selected incidents")
    def reopen(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.reopen)

    @admin.action(description="Wake selected snoozed incidents")
    def wake(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.wake)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "severity",
        "status",
        "channel",
        "incident",
        "event_count",
        "last_seen",
    ]
    list_filter = ["status", "severity", "channel", ("source", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["title", "alert_key"]
    list_select_related = ["channel", "incident"]
    readonly_fields = [
        "channel",
        "source",
        "incident",
        "alert_key",
        "title",
        "description",
        "severity",
        "raw_severity",
        "status",
        "labels",
        "links",
        "images",
        "first_seen",
        "last_seen",
        "resolved_at",
        "event_count",
    ]
    date_hierarchy = "last_seen"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens are issued here or with ``create_api_token``; the key is shown once, then only
    its prefix. Revoke by deleting."""

    list_display = ["name", "user", "prefix", "created_at", "last_used_at"]
    list_filter = [("user", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "user__username", "prefix"]
    autocomplete_fields = ["user"]
    fields = ["user", "name", "prefix", "created_at", "last_used_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiToken, form, change: bool) -> None:
        token, key = ApiToken.issue(obj.user, obj.name)
        obj.pk = token.pk
        self.message_user(request, f"Copy the key now, it is not shown again: {key}")


# --- Escalation rules ---------------------------------------------------------------------------

WEEKDAYS = list(enumerate(DAY_NAMES))


def _time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in known_time_zones()]


def _model_help(field: str) -> str:
    return str(EscalationRule._meta.get_field(field).help_text)


class EscalationRuleForm(forms.ModelForm):
    """Severities and days as tick boxes, the time zone from a list, instead of raw JSON."""

    severities = forms.TypedMultipleChoiceField(
        choices=Severity.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: any severity.",
    )
    days = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The days the window starts on. None ticked: every day.",
    )
    timezone = forms.ChoiceField(choices=_time_zone_choices, help_text=_model_help("timezone"))

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
        ]


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
            raise ValidationError("A rule needs at least one level.")
        valid = [form for form in levels if not form.errors]
        for form in valid:
            try:
                EscalationLevel.validate_targets(
                    users=form.cleaned_data.get("users") or [],
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
        self.fields["position"].label = "Order"
        self.fields[
            "position"
        ].help_text = (
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

    @admin.display(description="summary")
    def summary(self, level: EscalationLevel) -> str:
        return level.describe() if level.pk else "Shown after saving."


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
        ("Which incidents", {"fields": ["severities", "matchers"]}),
        ("When", {"fields": ["days", ("start_time", "end_time"), "timezone"]}),
        ("Delivery", {"fields": ["stop_when", "repeat_rule_times"]}),
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

    @admin.display(description="conditions")
    def conditions(self, rule: EscalationRule) -> str:
        return rule.describe_conditions()

    @admin.display(description="levels", ordering="level_total")
    def level_count(self, rule: EscalationRule) -> int:
        return rule.level_total

    @admin.display(description="targets that won't receive anything")
    def delivery_warnings(self, rule: EscalationRule) -> SafeString | str:
        if not rule.pk:
            return "Checked after saving."
        problems = rule_problems(rule)
        if not problems:
            return "None: every target is reachable."
        return format_html(
            '<ul class="delivery-warnings errorlist">{}</ul>',
            format_html_join("", "<li>{}</li>", ((problem,) for problem in problems)),
        )
