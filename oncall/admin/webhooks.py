"""Outbound webhooks: endpoints (secret shown once, rotation, test event, a notice when the
console disabled one), and deliveries with every attempt and "send again"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from oncall.admin.signed_receivers import HeadersForm, SigningSecretAdmin
from oncall.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from oncall.models.webhooks import WebhookEventType
from oncall.webhooks import delivery, endpoints

RECENT_DELIVERIES = 20


class WebhookEndpointForm(HeadersForm, forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        label=_("event types"),
        choices=WebhookEventType.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=list(WebhookEventType.values),
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "description", "url", "enabled", "all_channels", "channels"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("all_channels") and not data.get("channels"):
            raise ValidationError(_("Choose the channels, or tick “all channels”."))
        return data

    def save(self, commit: bool = True) -> WebhookEndpoint:
        endpoint = super().save(commit=False)
        endpoint.event_types = self.cleaned_data["event_types"]
        was_enabled = self.initial.get("enabled", False)
        if endpoint.pk and endpoint.enabled and not was_enabled:
            endpoints.enable(endpoint)
        if commit:
            endpoint.save()
            self.save_m2m()
        return endpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SigningSecretAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "enabled", "failing_since", "subscriptions"]
    list_filter = ["enabled", "all_channels"]
    search_fields = ["name", "url", "description"]
    filter_horizontal = ["channels"]
    readonly_fields = [
        "notice",
        "header_names",
        "secret_rotation",
        "failing_since",
        "recent_deliveries",
    ]
    actions = ["rotate_secrets", "send_test_events"]  # rotate_secrets: SigningSecretAdmin's
    fieldsets = [
        (None, {"fields": ["notice", "name", "description", "url", "enabled"]}),
        (_("What is sent"), {"fields": ["event_types", "all_channels", "channels"]}),
        (
            _("Request"),
            {"fields": ["header_names", "headers", "clear_headers", "secret_rotation"]},
        ),
        (_("Deliveries"), {"fields": ["recent_deliveries"]}),
    ]

    @admin.display(description=_("recent deliveries"))
    def recent_deliveries(self, endpoint: WebhookEndpoint) -> SafeString | str:
        if endpoint.pk is None:
            return "—"
        rows = endpoint.deliveries.select_related("event").order_by("-id")[:RECENT_DELIVERIES]
        every = (
            reverse("admin:oncall_webhookdelivery_changelist")
            + f"?endpoint__id__exact={endpoint.pk}"
        )
        lines = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:oncall_webhookdelivery_change", args=[row.pk]),
                    row.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                    row.event.event_type,
                    row.get_status_display(),
                    row.attempts,
                    row.last_status_code or row.last_error[:80],
                )
                for row in rows
            ),
        )
        return format_html(
            "<table><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>"
            '<p><a href="{}">{}</a></p>',
            gettext("created"),
            gettext("event type"),
            gettext("status"),
            gettext("attempts"),
            gettext("last answer"),
            lines,
            every,
            gettext("Every delivery, with filters"),
        )

    @admin.display(description=_("notice"))
    def notice(self, endpoint: WebhookEndpoint) -> SafeString | str:
        if endpoint.disabled_reason and not endpoint.enabled:
            return format_html('<strong class="errornote">{}</strong>', endpoint.disabled_reason)
        if endpoint.failing_since:
            return gettext("Every delivery has failed since %(when)s.") % {
                "when": endpoint.failing_since.strftime("%Y-%m-%d %H:%M UTC")
            }
        return "—"

    @admin.display(description=_("event types"))
    def subscriptions(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types)

    @admin.display(description=_("signing secret"))
    def secret_rotation(self, endpoint: WebhookEndpoint) -> str:
        if endpoint.previous_secret_until:
            return gettext("Rotated: the previous secret signs too until %(when)s.") % {
                "when": endpoint.previous_secret_until.strftime("%Y-%m-%d %H:%M UTC")
            }
        return gettext(
            "Shown once, when made; the button “Rotate the signing secret” makes a new one."
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {
            "event_types": list(WebhookEventType.values),
            **super().get_changeform_initial_data(request),
        }

    def get_form(self, request: HttpRequest, obj: WebhookEndpoint | None = None, **kwargs: Any):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            form.base_fields["event_types"].initial = obj.event_types
        return form

    @admin.action(description=_("Send a test event"), permissions=["change"])
    def send_test_events(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        count = 0
        for endpoint in queryset:
            delivery.send_test_event(endpoint)
            count += 1
        self.message_user(
            request,
            ngettext(
                "Test event queued for %(count)d endpoint: see its deliveries.",
                "Test events queued for %(count)d endpoints: see their deliveries.",
                count,
            )
            % {"count": count},
        )


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["started_at", "duration_ms", "status_code", "response_body", "error"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False


class EventTypeFilter(admin.SimpleListFilter):
    title = _("event type")
    parameter_name = "event_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [*WebhookEventType.choices, ("test", _("test event"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(event__event_type=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "endpoint",
        "event_type",
        "incident_number",
        "sequence",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", EventTypeFilter, ("endpoint", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["event__event_id", "last_error"]
    list_select_related = ["endpoint", "event", "event__incident"]
    inlines = [AttemptInline]
    actions = ["send_again"]
    fields = [
        "endpoint",
        "event_type",
        "event_id",
        "incident_number",
        "sequence",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "finished_at",
        "body",
    ]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("event type"))
    def event_type(self, row: WebhookDelivery) -> str:
        return row.event.event_type

    @admin.display(description=_("event id"))
    def event_id(self, row: WebhookDelivery) -> str:
        return row.event.event_id

    @admin.display(description=_("incident"))
    def incident_number(self, row: WebhookDelivery) -> str:
        incident = row.event.incident
        return f"#{incident.number}" if incident else "—"

    @admin.display(description=_("body sent"))
    def body(self, row: WebhookDelivery) -> SafeString:
        return format_html("<pre style='white-space:pre-wrap'>{}</pre>", row.event.body)

    def has_send_again_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("oncall.change_webhookendpoint")

    @admin.action(description=_("Send again"), permissions=["send_again"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        count = 0
        for row in queryset.select_related("endpoint", "event"):
            delivery.redeliver(row)
            count += 1
        message = ngettext(
            "%(count)d delivery queued again.", "%(count)d deliveries queued again.", count
        )
        self.message_user(request, message % {"count": count})
