"""The admins' screen: channels, alert sources with their routes, alerts and incidents.

Incident state is read-only here: admin actions change it through the lifecycle service, like
every other surface, so the timeline and the announcements stay right.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime

from oncall import lifecycle
from oncall.models import (
    ActionSource,
    Alert,
    AlertSource,
    ApiToken,
    Channel,
    InboundEvent,
    Incident,
    Route,
    TimelineEntry,
)
from oncall.timeline import Actor

RECENT_EVENTS = 20
ADMIN_MEDIA = forms.Media(js=["oncall/copy.js"], css={"all": ["oncall/admin.css"]})


def copy_field(element_id: str, value: str) -> SafeString:
    """A read-only value with a Copy button (for URLs admins paste into other systems)."""
    return format_html(
        '<span class="copy-field"><input id="{}" type="text" readonly value="{}" '
        'aria-label="URL"><button type="button" class="button" data-copy-target="{}">Copy'
        "</button></span>",
        element_id,
        value,
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
    ]

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
    media = ADMIN_MEDIA

    def get_inlines(self, request: HttpRequest, obj: AlertSource | None) -> list:
        if obj is None:
            return []
        return [RouteInline] if obj.is_shared else []

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
    readonly_fields = [*INCIDENT_STATE_FIELDS, "channel"]
    fields = ["title", "channel", *INCIDENT_STATE_FIELDS]
    list_select_related = ["channel", "claimed_by"]
    inlines = [AlertInline, TimelineInline]
    actions = ["claim", "unclaim", "close", "reopen", "wake"]
    date_hierarchy = "created_at"
    media = ADMIN_MEDIA

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # incidents come from alerts

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
