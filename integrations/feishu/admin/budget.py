"""The API budget on the Feishu app's admin page: the plan fields, this month's calls, and a
warning at the top of the page from 80 % of the month's quota (``integrations.feishu.budget``)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.feishu import budget
from integrations.feishu.models import FeishuApp

BUDGET_FIELDSET = (
    _("API budget (调用量)"),
    {
        "fields": ["api_plan", "api_monthly_quota", "api_usage_field"],
        "description": _(
            "Feishu counts every Open API call of the tenant's custom apps: the basic "
            "free edition allows 10,000 a month (refreshed on the 1st), the other "
            "editions are unlimited. The console counts this app's calls and warns at "
            "80 % and 100 %."
        ),
    },
)


class ApiBudgetAdmin(admin.ModelAdmin):
    """Mixed into ``FeishuAppAdmin``: ``api_usage_field`` must be among its read-only fields."""

    @admin.display(description=_("Open API calls this month"))
    def api_usage_field(self, app: FeishuApp) -> SafeString:
        current = budget.usage(app)
        css = "check-failed" if current.level else "check-ok"
        return format_html('<span class="{}">{}</span>', css, budget.describe(app, current))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ) -> HttpResponse:
        """Say it at the top of the page when this month's calls reach 80 % or are spent."""
        app = self.get_object(request, object_id)
        if app is not None and request.method == "GET":
            current = budget.usage(app)
            if current.level:
                self.message_user(request, budget.describe(app, current), messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)
