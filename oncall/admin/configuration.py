"""Channels, alert sources with their routes and recent pushes, and API tokens."""

from __future__ import annotations

import copy
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.formats import localize
from django.utils.functional import Promise
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from oncall.admin.pipelines import (
    PipelineRuleInline,
    pipeline_summary,
    try_pipeline_answer,
    try_pipeline_box,
)
from oncall.admin.shared import AdminMedia, copy_block, copy_field
from oncall.admin.source_options import options_form_of
from oncall.admin.source_tools import (
    form_with_option_fields,
    option_field_names,
    refused_pushes_table,
    try_sample_answer,
    try_sample_box,
)
from oncall.admin.structured import (
    BranchesField,
    MatchersField,
    alert_counts_field,
    label_names_field,
    severity_overrides_field,
)
from oncall.change_events import ChangeSourceKind
from oncall.events import Severity
from oncall.models import (
    AlertSource,
    ApiToken,
    Channel,
    InboundEvent,
    Incident,
    RefusedPush,
    Route,
)
from oncall.sources import OptionsForm, SourceKind, UnknownSourceKind, source_kind

RECENT_EVENTS = 20


def severity_rows(kind: SourceKind) -> SafeString:
    """The kind's severity table: the sender's own words as code (they are its values, typed as
    it sends them), a description of a case (translated) as text, each with the console's."""
    return format_html_join(
        ", ",
        "{} → {}",
        (
            (raw if isinstance(raw, Promise) else format_html("<code>{}</code>", raw), sev.label)
            for raw, sev in ((raw, Severity(sev)) for raw, sev in kind.severity_table)
        ),
    )


class ChannelForm(forms.ModelForm):
    """Group-by labels, grouping branches and storm warnings as rows, not JSON."""

    class Meta:
        model = Channel
        # The admin's fieldsets add the rest.
        fields = ["group_by_labels", "grouping_branches", "storm_thresholds"]
        field_classes = {
            "group_by_labels": label_names_field,
            "grouping_branches": BranchesField,
            "storm_thresholds": alert_counts_field,
        }


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "member_count", "open_incidents", "auto_close", "grouping"]
    list_filter = ["auto_close"]
    search_fields = ["name", "description"]
    filter_horizontal = ["members", "teams"]
    fieldsets = [
        (None, {"fields": ["name", "description"]}),
        (_("Who may act on its incidents"), {"fields": ["members", "teams"]}),
        (
            _("Grouping and closing"),
            {"fields": ["group_by_labels", "group_window_minutes", "auto_close"]},
        ),
        # Noise reduction (oncall.noise)
        (
            _("Grouping, finer"),
            {"fields": ["grouping_branches", "strict_grouping", "storm_thresholds"]},
        ),
        (_("Flapping"), {"fields": ["flapping", "flapping_times", "flapping_minutes"]}),
        (_("Inhibition"), {"fields": ["inhibit_rule_links"]}),
        (_("Escalation"), {"fields": ["escalation_rule_links"]}),
        (_("Notifications"), {"fields": ["notification_template", "card_language"]}),
    ]
    readonly_fields = ["escalation_rule_links", "inhibit_rule_links"]

    @admin.display(description=_("inhibition rules"))
    def inhibit_rule_links(self, channel: Channel) -> SafeString | str:
        if not channel.pk:
            return _("Add inhibition rules once the channel is saved.")
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a>{}</li>',
            (
                (
                    reverse("admin:oncall_inhibitrule_change", args=[rule.pk]),
                    rule.name,
                    "" if rule.enabled else _(" (disabled)"),
                )
                for rule in channel.inhibit_rules.order_by("name", "id")
            ),
        )
        add_url = reverse("admin:oncall_inhibitrule_add") + f"?channel={channel.pk}"
        return format_html(
            '<ul>{}</ul><a href="{}">{}</a>',
            items or format_html("<li>{}</li>", _("None.")),
            add_url,
            _("Add an inhibition rule"),
        )

    @admin.display(description=_("escalation rules (first match wins)"))
    def escalation_rule_links(self, channel: Channel) -> SafeString | str:
        if not channel.pk:
            return _("A Default rule is created with the channel.")
        rules = channel.escalation_rules.order_by("position", "id")
        items = format_html_join(
            "",
            '<li><a href="{}">{}</a>{} <span class="help">{}</span></li>',
            (
                (
                    reverse("admin:oncall_escalationrule_change", args=[rule.pk]),
                    rule.name,
                    "" if rule.enabled else _(" (disabled)"),
                    rule.describe_conditions(),
                )
                for rule in rules
            ),
        )
        add_url = reverse("admin:oncall_escalationrule_add") + f"?channel={channel.pk}"
        return format_html(
            '<ol class="escalation-rules">{}</ol><a href="{}">{}</a>',
            items or format_html("<li>{}</li>", _("None: nobody is notified.")),
            add_url,
            _("Add a rule"),
        )

    @admin.display(description=_("members"))
    def member_count(self, channel: Channel) -> int:
        return channel.members.count()

    @admin.display(description=_("open incidents"))
    def open_incidents(self, channel: Channel) -> int:
        return channel.incidents.exclude(status=Incident.Status.CLOSED).count()

    @admin.display(description=_("grouping"))
    def grouping(self, channel: Channel) -> str:
        if not channel.group_by_labels:
            return _("one incident per alert")
        window = (
            f" within {channel.group_window_minutes} min" if channel.group_window_minutes else ""
        )
        return f"by {', '.join(channel.group_by_labels)}{window}"


class RouteForm(forms.ModelForm):
    class Meta:
        model = Route
        fields = ["matchers"]  # the inline's fields add the rest
        field_classes = {"matchers": MatchersField}


class RouteInline(admin.StackedInline):
    model = Route
    form = RouteForm
    extra = 0
    fields = ["position", "name", "matchers", "channels", "stop", "is_default"]
    filter_horizontal = ["channels"]
    ordering = ["is_default", "position"]


class AlertSourceForm(forms.ModelForm):
    """The signing secret is write-only: never rendered back, blank keeps the stored one."""

    new_signing_secret = forms.CharField(
        label=_("Signing secret"),
        widget=forms.PasswordInput,
        required=False,
        strip=True,
        help_text=_(
            "Only for senders that sign their pushes (the set-up steps say when). "
            "Leave blank to keep the current value."
        ),
    )
    clear_signing_secret = forms.BooleanField(label=_("Remove the signing secret"), required=False)

    class Meta:
        model = AlertSource
        fields = [
            "name",
            "kind",
            "description",
            "enabled",
            "channel",
            "severity_overrides",
            "options",
        ]
        field_classes = {"severity_overrides": severity_overrides_field}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if "options" not in self.fields and kind and kind != self.instance.kind:
            # The page has no options' JSON (a new source, or fields for them): a new kind
            # starts at its own defaults, which its ``clean_options`` takes.
            self.instance.options = source_kind(kind).default_options()
        new = cleaned.get("new_signing_secret")
        if new and cleaned.get("clear_signing_secret"):
            self.add_error("clear_signing_secret", _("Either enter a new secret or remove it."))
        elif new:
            self.instance.signing_secret = new
        elif cleaned.get("clear_signing_secret"):
            self.instance.signing_secret = ""
        return cleaned


@admin.register(AlertSource)
class AlertSourceAdmin(admin.ModelAdmin):
    form = AlertSourceForm
    list_display = ["name", "kind", "routing", "enabled", "created_at"]
    list_filter = ["kind", "enabled", ("channel", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "description"]
    readonly_fields = [
        "push_url_field",
        "kind_details",
        "setup_steps",
        "recent_events",
        "recent_failures",
        "try_sample",
        "recorded_changes",
        "pipeline_dropped",
        "try_pipeline",
    ]
    autocomplete_fields = ["channel"]
    actions = ["rotate_tokens"]
    fieldsets = [
        (None, {"fields": ["name", "kind", "description", "enabled"]}),
        (_("Where alerts go"), {"fields": ["channel"]}),
        (_("Push URL"), {"fields": ["push_url_field"]}),
        (_("Set up the sender"), {"fields": ["kind_details", "setup_steps"]}),
        (_("Severity"), {"fields": ["severity_overrides"]}),
        (
            _("Options of this kind"),
            {"fields": ["options", "new_signing_secret", "clear_signing_secret"]},
        ),
        (_("Recent events"), {"fields": ["recent_events"]}),
        (_("Recent failures"), {"fields": ["recent_failures"]}),
        (_("Alert pipeline"), {"fields": ["pipeline_dropped", "try_pipeline"]}),
    ]

    class Media(AdminMedia):
        js = [*AdminMedia.js, "oncall/try_box.js"]

    def get_fieldsets(self, request: HttpRequest, obj: AlertSource | None = None) -> list:
        """A kind with plain option fields (its own, or its declared options') shows them
        instead of the options' JSON, a kind without options shows none, a saved source gets
        "Try on a sample", and a change source links to the changes it recorded."""
        fieldsets = copy.deepcopy(super().get_fieldsets(request, obj))
        options_form = _options_form_of(obj)
        for _name, options in fieldsets:
            fields = list(options["fields"])
            if "options" in fields:
                at = fields.index("options")
                replacement = option_field_names(options_form) if options_form else ["options"]
                if obj is None or _has_no_options(obj):
                    # Nothing to set (a kind without options), or a new source: it starts at
                    # its kind's defaults, set in their fields once it is saved.
                    replacement = []
                if obj is not None and obj.pk:
                    replacement = [*replacement, "try_sample"]
                fields[at : at + 1] = replacement
            options["fields"] = fields
        if isinstance(_kind_of(obj), ChangeSourceKind):
            # A change source's page also links to the changes it recorded.
            fieldsets.append(("Changes", {"fields": ["recorded_changes"]}))
        return fieldsets

    @admin.display(description=_("recorded changes"))
    def recorded_changes(self, source: AlertSource) -> SafeString | str:
        count = source.changes.count()
        if not count:
            return _("No change recorded yet.")
        url = reverse("admin:oncall_changeevent_changelist")
        words = ngettext("%(count)d change", "%(count)d changes", count) % {"count": count}
        return format_html('<a href="{}?source__id__exact={}">{}</a>', url, source.pk, words)

    def get_form(self, request: HttpRequest, obj: AlertSource | None = None, **kwargs: Any):
        base = kwargs.get("form", self.form)
        kwargs["form"] = form_with_option_fields(base, _options_form_of(obj))
        form = super().get_form(request, obj, **kwargs)
        kind = _kind_of(obj)
        if kind is not None and "options" in form.base_fields:
            extra = kind.options_help()
            if extra:
                form.base_fields["options"].help_text = extra
        return form

    @admin.display(description=_("this kind"))
    def kind_details(self, source: AlertSource) -> SafeString | str:
        kind = _kind_of(source)
        if kind is None:
            return _("Choose a kind and save: its set-up steps appear here.")
        rows = [
            (_("Sender"), kind.sender or kind.label),
            (_("Identity"), kind.identity),
            (_("Recovery"), kind.recovery),
            (_("Severity"), severity_rows(kind)),
        ]
        if source.pk:
            rows += list(kind.status(source))  # what the kind knows of it now (a heartbeat)
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", ((k, v) for k, v in rows if v)),
        )

    @admin.display(description=_("steps"))
    def setup_steps(self, source: AlertSource) -> SafeString | str:
        kind = _kind_of(source)
        if kind is None or not source.pk:
            return _("Shown after saving, with the push URL filled in.")
        guide = kind.source_setup_guide(source)
        steps = format_html_join("", "<li>{}</li>", ((step,) for step in guide.steps))
        snippets = format_html_join(
            "",
            "<p><b>{}</b></p>{}",
            (
                (snippet.title, copy_block(f"snippet-{source.pk}-{n}", snippet.text))
                for n, snippet in enumerate(guide.snippets)
            ),
        )
        return format_html("<ol>{}</ol>{}", steps, snippets)

    def get_inlines(self, request: HttpRequest, obj: AlertSource | None) -> list:
        if obj is None:
            return []
        # Noise reduction: the source's pipeline, in order (``oncall.admin.pipelines``).
        return [RouteInline, PipelineRuleInline] if obj.is_shared else [PipelineRuleInline]

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

    @admin.display(description=_("routing"))
    def routing(self, source: AlertSource) -> str:
        if source.channel_id:
            return gettext("private: %(channel)s") % {"channel": source.channel}
        return _("shared (routes)")

    @admin.display(description=_("push URL"))
    def push_url_field(self, source: AlertSource) -> SafeString | str:
        if not source.pk:
            return _("Shown after saving.")
        return copy_field(f"push-url-{source.pk}", source.push_url)

    @admin.display(description=_("recent events (newest first)"))
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
            return _("Nothing received yet.")
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            _("received"),
            _("status"),
            _("events"),
            _("notes"),
            rows,
        )

    def get_urls(self) -> list:
        try_sample = path(
            "<path:object_id>/try-sample/",
            self.admin_site.admin_view(self.try_sample_view),
            name="oncall_alertsource_try_sample",
        )
        try_pipeline = path(
            "<path:object_id>/try-pipeline/",
            self.admin_site.admin_view(self.try_pipeline_view),
            name="oncall_alertsource_try_pipeline",
        )
        return [try_sample, try_pipeline, *super().get_urls()]

    def try_pipeline_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST: the page's pipeline rules, unsaved, on one of the source's recent events."""
        if request.method != "POST":
            return JsonResponse({"error": {"message": "POST only"}}, status=405)
        source = self.get_object(request, object_id)
        if source is None:
            raise Http404
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        return try_pipeline_answer(
            request, source, PipelineRuleInline(AlertSource, self.admin_site)
        )

    @admin.display(description=_("dropped by pipeline"))
    def pipeline_dropped(self, source: AlertSource) -> SafeString | str:
        return pipeline_summary(source)

    @admin.display(description=_("try it on a recent event"))
    def try_pipeline(self, source: AlertSource) -> SafeString | str:
        return try_pipeline_box(source)

    def try_sample_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """POST (with the page's CSRF token): the pasted sample read with the options as
        they are on the page, unsaved. Whoever may change the source may try it."""
        if request.method != "POST":
            return JsonResponse({"error": {"message": "POST only"}}, status=405)
        source = self.get_object(request, object_id)
        if source is None:
            raise Http404
        if not self.has_change_permission(request, source):
            raise PermissionDenied
        kind = _kind_of(source)
        if kind is None:
            raise Http404
        # A fresh copy: validating a form writes the posted values onto its instance.
        form_class = self.get_form(request, source, change=True)
        form = form_class(request.POST, instance=AlertSource.objects.get(pk=source.pk))
        return try_sample_answer(form, kind, source, request.POST.get("sample", ""))

    @admin.display(description=_("try on a sample"))
    def try_sample(self, source: AlertSource) -> SafeString | str:
        if not source.pk:
            return ""
        return try_sample_box(reverse("admin:oncall_alertsource_try_sample", args=[source.pk]))

    @admin.display(description=_("refused pushes (newest first)"))
    def recent_failures(self, source: AlertSource) -> SafeString | str:
        if not source.pk:
            return ""
        return refused_pushes_table(source.refused_pushes.order_by("-id")[: RefusedPush.KEEP])

    @admin.action(description=_("Rotate the push token (the old push URL stops working)"))
    def rotate_tokens(self, request: HttpRequest, queryset: QuerySet[AlertSource]) -> None:
        count = 0
        for source in queryset:
            source.rotate_token()
            count += 1
        message = ngettext(
            "A new push URL for %(count)d source.", "New push URLs for %(count)d sources.", count
        )
        self.message_user(request, message % {"count": count})


def _has_no_options(source: AlertSource | None) -> bool:
    """A saved source whose kind has no options (and none stored)."""
    kind = _kind_of(source)
    return (
        source is not None
        and kind is not None
        and not source.options
        and not kind.default_options()
        and options_form_of(kind) is None
    )


def _options_form_of(source: AlertSource | None) -> type[OptionsForm] | None:
    kind = _kind_of(source)
    return options_form_of(kind) if kind is not None else None


def _kind_of(source: AlertSource | None, kind: str | None = None) -> SourceKind | None:
    name = source.kind if source is not None else kind
    if not name:
        return None
    try:
        return source_kind(name)
    except UnknownSourceKind:
        return None


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
