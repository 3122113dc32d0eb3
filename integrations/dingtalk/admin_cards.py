"""The admin's part of DingTalk cards: the cards of an incident (an inline on its page, through
the platform), and the app's API budget this month (``budget``), with a warning from 80 %."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.dingtalk import budget
from integrations.dingtalk.models import DingTalkApp, DingTalkCardDelivery
from oncall.platforms import FailedNotification, FailedNotifications, may_view


class DingTalkCardDeliveryInline(admin.TabularInline):
    """On the incident's admin page (``DingTalkPlatform.incident_admin_inlines``)."""

    model = DingTalkCardDelivery
    fields = ["recipient", "app", "state", "sent", "attempts", "last_error", "updated_at"]
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    verbose_name_plural = _("DingTalk card deliveries")

    @admin.display(description=_("recipient"))
    def recipient(self, delivery: DingTalkCardDelivery) -> str:
        return delivery.recipient_name


def api_usage_field(app: DingTalkApp) -> SafeString:
    """This month's calls against the edition's budget, for the app's page."""
    current = budget.usage(app)
    css = "check-ok" if current.level == "ok" else "check-failed"
    return format_html('<span class="{}">{}</span>', css, budget.describe(app, current))


def budget_warning(app: DingTalkApp) -> str | None:
    """What the top of the app's page says from 80 % of the month's calls, else None."""
    current = budget.usage(app)
    if current.level == "ok":
        return None
    if current.level == "spent":
        return budget.spent_message(app)
    return str(budget.describe(app, current))


# The states of a card that will not arrive (the admin home's "undelivered notifications").
NOT_DELIVERED = [
    DingTalkCardDelivery.State.FAILED,
    DingTalkCardDelivery.State.NOT_LINKED,
    DingTalkCardDelivery.State.GROUP_UNINSTALLED,
    DingTalkCardDelivery.State.BUDGET_SPENT,
]


def failed_notifications(user: Any, limit: int) -> FailedNotifications:
    """The DingTalk cards that will not arrive, for the admin's home page: how many and the
    ``limit`` newest (their incidents' pages list them all). Two queries."""
    if not may_view(user, DingTalkCardDelivery):
        return FailedNotifications()
    failed = DingTalkCardDelivery.objects.filter(state__in=NOT_DELIVERED)
    newest = failed.select_related("incident", "user", "group").order_by("-updated_at", "-pk")
    return FailedNotifications(
        total=failed.count(),
        newest=[
            FailedNotification(
                incident_id=delivery.incident_id,
                incident_number=delivery.incident.number,
                incident_title=delivery.incident.title,
                recipient=delivery.recipient_name,
                reason=delivery.last_error or delivery.get_state_display(),
                at=delivery.updated_at,
            )
            for delivery in newest[:limit]
        ],
    )
