"""Card deliveries: whom each incident's card reached (and every copy sent), and why one failed;
listed on their own and inline on the incident (``FeishuPlatform.incident_admin_inlines``)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.feishu.models import CardDelivery, SentCard
from oncall.admin import AdminMedia
from oncall.platforms import FailedNotification, FailedNotifications, may_view

# Not delivered, for any reason: pending deliveries are still on their way.
NOT_DELIVERED = [
    CardDelivery.State.FAILED,
    CardDelivery.State.NOT_LINKED,
    CardDelivery.State.BOT_NOT_IN_CHAT,
]


class LastDeliveryFailed(admin.SimpleListFilter):
    title = _("delivery outcome")
    parameter_name = "outcome"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("failed", _("not delivered (any reason)")), ("sent", _("delivered"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "failed":
            return queryset.filter(state__in=NOT_DELIVERED)
        if self.value() == "sent":
            return queryset.filter(state=CardDelivery.State.SENT)
        return queryset


class SentCardInline(admin.TabularInline):
    """The messages a delivery sent, and which card content each copy shows (read-only)."""

    model = SentCard
    fields = ["message_id", "fingerprint", "sent_at", "updated_at", "superseded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("sent copies")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(CardDelivery)
class CardDeliveryAdmin(admin.ModelAdmin):
    """Every card sent (or not) for an incident: who, through which app, and what went wrong."""

    list_display = [
        "incident",
        "recipient",
        "app",
        "state_badge",
        "sent",
        "attempts",
        "last_error",
        "updated_at",
    ]
    list_filter = [LastDeliveryFailed, "state", ("app", admin.RelatedOnlyFieldListFilter)]
    search_fields = [
        "user__username",
        "user__first_name",
        "user__last_name",
        "chat__name",
        "last_error",
        "=sent_messages__message_id",  # a message id pasted from Feishu finds its delivery
    ]
    list_select_related = ["incident", "app", "user", "chat"]
    readonly_fields = [f.name for f in CardDelivery._meta.fields]
    inlines = [SentCardInline]
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=_("recipient"))
    def recipient(self, delivery: CardDelivery) -> str:
        return delivery.recipient_name

    @admin.display(description=_("state"), ordering="state")
    def state_badge(self, delivery: CardDelivery) -> SafeString:
        css = "check-ok" if delivery.state == CardDelivery.State.SENT else "check-failed"
        if delivery.state == CardDelivery.State.PENDING:
            css = ""
        return format_html('<span class="{}">{}</span>', css, delivery.get_state_display())


class CardDeliveryInline(admin.TabularInline):
    """On the incident's admin page (listed in settings.INCIDENT_ADMIN_INLINES)."""

    model = CardDelivery
    fields = ["recipient", "app", "state", "sent", "attempts", "last_error", "updated_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = _("Feishu card deliveries")

    @admin.display(description=_("recipient"))
    def recipient(self, delivery: CardDelivery) -> str:
        return delivery.recipient_name


# The war rooms' list lives in its own module (this one is long enough).


def failed_notifications(user: Any, limit: int) -> FailedNotifications:
    """The deliveries that will not arrive, for the admin's home page (``FeishuPlatform``):
    how many, the ``limit`` newest, and this list filtered to them. Two queries."""
    if not may_view(user, CardDelivery):
        return FailedNotifications()
    failed = CardDelivery.objects.filter(state__in=NOT_DELIVERED)
    newest = failed.select_related("incident", "user", "chat").order_by("-updated_at", "-pk")
    url = reverse("admin:integrations_carddelivery_changelist") + "?outcome=failed"
    return FailedNotifications(
        total=failed.count(),
        newest=[_failed(delivery) for delivery in newest[:limit]],
        url=url,
    )


def _failed(delivery: CardDelivery) -> FailedNotification:
    return FailedNotification(
        incident_id=delivery.incident_id,
        incident_number=delivery.incident.number,
        incident_title=delivery.incident.title,
        recipient=delivery.recipient_name,
        reason=delivery.last_error or delivery.get_state_display(),
        at=delivery.updated_at,
    )
