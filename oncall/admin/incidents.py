"""Incidents and alerts.

Incident state is read-only here: admin actions change it through the lifecycle service, like
every other surface, so the timeline and the announcements stay right."""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.formats import localize
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from oncall import escalation, lifecycle
from oncall.admin.shared import AdminMedia, severity_badge
from oncall.models import (
    ActionSource,
    Alert,
    Incident,
    IncidentNote,
    TimelineEntry,
)
from oncall.platforms import (
    platforms,
)
from oncall.timeline import Actor, display_name


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
    fields = ["created_at", "kind", "said", "actor", "came_from"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False

    @admin.display(description=_("message"))
    def said(self, entry: TimelineEntry) -> str:
        return entry.text  # in the admin's language; the stored English is the fallback

    @admin.display(description=_("via"))
    def came_from(self, entry: TimelineEntry) -> str:
        return entry.source_label  # "system", "alert source", a platform's name: translated


class NoteInline(admin.TabularInline):
    """Responders' notes, read-only: only their authors change them, through the lifecycle
    service (the page, the API, a chat platform), within ``NOTE_EDIT_WINDOW_MINUTES``."""

    model = IncidentNote
    fields = ["created_at", "author", "source", "body", "edited_at"]
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
    "merged_into",
    "assigned_to",
    "assigned_at",
    "created_by",
    "alert_count",
    "last_alert_at",
    "created_at",
    "public_id",
    # noise reduction (oncall.noise)
    "flapping_since",
    "flapping_quiet",
    "storm_alerts",
    # Noise reduction: opened during a maintenance window (``oncall.noise.maintenance``).
    "opened_in_maintenance",  # a property: named and shown as a yes/no mark here
    "maintenance_window",
]


class NoiseFilter(admin.SimpleListFilter):
    """Incidents noise reduction marked: flapping, or in an alert storm."""

    title = _("noise")
    parameter_name = "noise"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("flapping", _("flapping")), ("storm", _("alert storm"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "flapping":
            return queryset.filter(flapping_since__isnull=False)
        if self.value() == "storm":
            return queryset.filter(storm_alerts__gt=0)
        return queryset


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
    list_filter = [
        "status",
        "severity",
        NoiseFilter,
        "channel",
        ("maintenance_window", admin.EmptyFieldListFilter),
    ]
    search_fields = ["title", "=number"]
    readonly_fields = [*INCIDENT_STATE_FIELDS, "channel", "escalation"]
    fields = ["title", "channel", *INCIDENT_STATE_FIELDS, "escalation"]
    list_select_related = ["channel", "claimed_by"]
    inlines = [AlertInline, TimelineInline, NoteInline]
    actions = ["claim", "unclaim", "close", "reopen", "wake"]
    date_hierarchy = "created_at"
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # incidents come from alerts

    def get_inlines(self, request: HttpRequest, obj: Incident | None) -> list:
        # Chat platforms add theirs (Feishu's card deliveries).
        extra = [inline for p in platforms() for inline in p.incident_admin_inlines()]
        return [*self.inlines, *extra]

    @admin.display(description=_("escalation"))
    def escalation(self, incident: Incident) -> str:
        rule = incident.escalation_rule
        if rule is None and incident.assigned_to_id is not None:
            return gettext("Assigned to %(person)s: no rule escalates it.") % {
                "person": display_name(incident.assigned_to)
            }
        if rule is None:
            return gettext("No rule matched.")
        if incident.next_escalation_at is None:
            return gettext("“%(rule)s”: nothing planned.") % {"rule": rule.name}
        when = localize(localtime(incident.next_escalation_at))
        level = escalation.next_level(incident)
        if level is None:
            return gettext("“%(rule)s”: every level notified; ends at %(when)s.") % {
                "rule": rule.name,
                "when": when,
            }
        return gettext("“%(rule)s”: level %(level)s at %(when)s.") % {
            "rule": rule.name,
            "level": level,
            "when": when,
        }

    @admin.display(description=_("in maintenance"), boolean=True)
    def opened_in_maintenance(self, incident: Incident) -> bool:
        return incident.in_maintenance

    @admin.display(description="#", ordering="number")
    def number_label(self, incident: Incident) -> str:
        return f"#{incident.number}"

    @admin.display(description=_("severity"), ordering="severity")
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

    @admin.action(description=_("Claim selected incidents"))
    def claim(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.claim)

    @admin.action(description=_("Unclaim selected incidents"))
    def unclaim(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.unclaim)

    @admin.action(description=_("Close selected incidents"))
    def close(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.close)

    @admin.action(description=_("Reopen selected incidents"))
    def reopen(self, request: HttpRequest, queryset: QuerySet[Incident]) -> None:
        self._run(request, queryset, lifecycle.reopen)

    @admin.action(description=_("Wake selected snoozed incidents"))
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
        "suppressed",
        "event_count",
        "last_seen",
    ]
    list_filter = [
        "status",
        "severity",
        "suppressed",
        "channel",
        ("source", admin.RelatedOnlyFieldListFilter),
    ]
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
        "suppressed",
        "suppressed_detail",
        # The pipeline rules that changed its latest event (``oncall.noise.pipelines``).
        "pipeline",
    ]
    date_hierarchy = "last_seen"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
