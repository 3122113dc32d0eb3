"""The long connection on the Feishu app's admin page: its state, times and the list column."""

from __future__ import annotations

from django.contrib import admin
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from integrations.feishu.long_connection.heartbeat import connection_status
from integrations.feishu.models import FeishuApp


def _when(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


class LongConnectionAdminMixin:
    """Read-only fields for ``FeishuAppAdmin`` (its queryset joins ``heartbeat``)."""

    @admin.display(description=_("long connection"))
    def long_connection_field(self, app: FeishuApp) -> SafeString:
        status = connection_status(app)
        css = {"up": "check-ok", "down": "check-failed"}.get(status.state, "")
        times = [
            (_("connected at"), status.connected_at),
            (_("last heartbeat"), status.heartbeat_at),
            (_("last message"), status.last_message_at),
        ]
        details = format_html_join(
            "", '<div class="help">{}: {}</div>', ((k, _when(v)) for k, v in times if v)
        )
        return format_html('<span class="{}">{}</span>{}', css, status.message, details)

    @admin.display(description=_("long connection"))
    def connection_state(self, app: FeishuApp) -> str:
        status = connection_status(app)
        return {"up": _("up"), "down": _("down")}.get(status.state, "—")
