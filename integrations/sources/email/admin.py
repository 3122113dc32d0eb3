"""The e-mail sources' admin: their addresses (copy, rotate) and the messages received."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from integrations.sources.email.models import InboundMail, MailAddress
from oncall.admin.shared import AdminMedia, copy_block, copy_field

RAW_SHOWN_BYTES = 64 * 1024


@admin.register(MailAddress)
class MailAddressAdmin(admin.ModelAdmin):
    list_display = ["source", "address_field"]
    search_fields = ["source__name"]
    readonly_fields = ["source", "address_field"]
    actions = ["rotate"]
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made with its source's set-up guide, the first time it is shown

    @admin.display(description=_("address"))
    def address_field(self, address: MailAddress) -> SafeString:
        return copy_field(f"mail-address-{address.pk}", address.address)

    @admin.action(description=_("Rotate the e-mail address (mail to the old one is refused)"))
    def rotate(self, request: HttpRequest, queryset: QuerySet[MailAddress]) -> None:
        for address in queryset:
            address.rotate()
        count = len(queryset)
        self.message_user(
            request,
            ngettext(
                "%(count)d address rotated: give the senders the new one.",
                "%(count)d addresses rotated: give the senders the new ones.",
                count,
            )
            % {"count": count},
            messages.SUCCESS,
        )


@admin.register(InboundMail)
class InboundMailAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "subject", "envelope_from", "status", "size"]
    list_select_related = ["source"]
    list_filter = ["status", ("source", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["subject", "envelope_from"]
    date_hierarchy = "received_at"
    fields = [
        "source",
        "received_at",
        "status",
        "envelope_from",
        "envelope_to",
        "peer",
        "subject",
        "notes",
        "request_id",
        "attempts",
        "error",
        "processed_at",
        "raw_message",
    ]
    readonly_fields = fields
    Media = AdminMedia

    def get_queryset(self, request: HttpRequest) -> QuerySet[InboundMail]:
        # The list shows each message's size, not its bytes (up to ALERT_EMAIL_MAX_BYTES each).
        return super().get_queryset(request).defer("raw").annotate(raw_size=Length("raw"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description=_("size (bytes)"), ordering="raw_size")
    def size(self, mail: InboundMail) -> int:
        return mail.raw_size

    def has_change_permission(self, request: HttpRequest, obj: InboundMail | None = None) -> bool:
        return False

    @admin.display(description=_("message as received"))
    def raw_message(self, mail: InboundMail) -> SafeString:
        raw = bytes(mail.raw)
        shown = raw[:RAW_SHOWN_BYTES].decode("utf-8", errors="replace")
        if len(raw) > RAW_SHOWN_BYTES:
            return format_html(
                "{}<p>{}</p>",
                copy_block(f"raw-mail-{mail.pk}", shown),
                _("The first %(shown)d of %(size)d bytes.")
                % {"shown": RAW_SHOWN_BYTES, "size": len(raw)},
            )
        return copy_block(f"raw-mail-{mail.pk}", shown)
