"""The Feishu app integration in the admin: the guide's step 2 form, the URLs to paste back into
Feishu with copy buttons, the setup checklist, "check configuration", "sync chats now", "link by
email" and "send a test card".

Secrets are write-only: the form never renders them back ("leave blank to keep").
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, gettext_noop, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from integrations.feishu import chats, escalation_targets, setup_check
from integrations.feishu.admin.budget import BUDGET_FIELDSET, ApiBudgetAdmin
from integrations.feishu.admin.linking_report import bulk_link_report
from integrations.feishu.cards import sample
from integrations.feishu.client import errors
from integrations.feishu.long_connection import setup as long_connection_setup
from integrations.feishu.long_connection.admin_fields import LongConnectionAdminMixin
from integrations.feishu.models import ApiPlan, FeishuApp, FeishuChat, InboundMode
from integrations.feishu.oauth import bulk_linking
from oncall.admin import AdminMedia, copy_field
from oncall.admin.shared import counted_by_state
from oncall.timeline import display_name

SECRET_FIELDS = ("app_secret", "verification_token", "encrypt_key")
# The guide's 一、2 and 一、3: where the add form's and the credentials' values come from.
WHERE_CREDENTIALS_ARE = _(
    "Copy these from the Feishu developer console: Credentials & Basic Info "
    "(凭证与基础信息: App ID, App Secret) and Events & Callbacks → Encryption "
    "Strategy (事件与回调 → 加密策略: Verification Token, Encrypt Key)."
)
KEEP = _("Leave blank to keep the current value.")

# The setup guide's checklist (Feishu developer console), in the order an admin works. Each
# step names the console's pages in English and, in brackets, as the Chinese guide and console
# do (添加应用能力, 事件与回调 ...): the Chinese page shows the guide's words alone. Translated
# when shown, so that ``checklist_for`` reads the English ("request URL") whatever the language.
CHECKLIST = [
    gettext_noop(
        "Add Features (添加应用能力 → 按能力添加): enable <b>Web App</b> (网页应用) and "
        "<b>Bot</b> (机器人)."
    ),
    gettext_noop(
        "Web App (网页应用): set the desktop and the mobile homepage (桌面端主页, 移动端主页) to "
        "the <b>web configuration URL</b> (网页配置)."
    ),
    gettext_noop(
        "Events &amp; Callbacks → Event Configuration (事件与回调 → 事件配置): set the request "
        "URL to the <b>event request URL</b>; add the events <code>im.message.receive_v1</code> "
        "and <code>im.chat.disbanded_v1</code> (and, to follow groups at once, "
        "<code>im.chat.member.bot.added_v1</code> / <code>im.chat.member.bot.deleted_v1</code>)."
    ),
    gettext_noop(
        "Events &amp; Callbacks → Callback Configuration (事件与回调 → 回调配置): set the "
        "<b>message card request URL</b> (消息卡片请求网址) and add the card action callback."
    ),
    gettext_noop("Security Settings (安全设置): add the <b>redirect URL</b> (重定向 URL)."),
    gettext_noop(
        "Permissions (权限管理): request <code>im:chat</code>, <code>im:message</code> and "
        "<code>contact:user.id:readonly</code> (and <code>im:resource</code>, for cards to show "
        "alert images)."
    ),
    # Linking (issue 16, item 5): Feishu leaves these fields out of the user info without them.
    gettext_noop(
        "Permissions, for linking accounts: request <code>contact:user.email:readonly</code> "
        "(获取用户邮箱信息): people are matched to console accounts by email, which Feishu's user "
        "info carries only with it. <code>contact:user.phone:readonly</code> (获取用户手机号) adds "
        "the mobile number; the console does not match by mobile, so it is optional."
    ),
    gettext_noop(
        "War rooms (when enabled below): the bot creates a group per incident with "
        "<code>im:chat</code>, finds people with <code>contact:user.id:readonly</code> and pins "
        "the card with <code>im:message</code>; people outside the app's availability cannot be "
        "invited."
    ),
    gettext_noop(
        "Availability (可见范围): all employees. Then create a version and publish it (应用发布)."
    ),
    gettext_noop(
        "In Feishu, add the bot to each group that should receive cards, then sync chats here."
    ),
    gettext_noop(
        "Each person opens the app once from the Feishu workplace (飞书 → 工作台) to link their "
        "account."
    ),
]


class FeishuAppForm(forms.ModelForm):
    app_secret = forms.CharField(label=_("App Secret"), widget=forms.PasswordInput, required=False)
    verification_token = forms.CharField(
        label=_("Verification Token"), widget=forms.PasswordInput, required=False
    )
    encrypt_key = forms.CharField(
        label=_("Encrypt Key"),
        widget=forms.PasswordInput,
        required=False,
        help_text=_("Optional but recommended: with it Feishu encrypts and signs every callback."),
    )
    # Not required: a form posted without it (a script, an older page) keeps the current plan.
    api_plan = forms.ChoiceField(
        label=_("Feishu edition"),
        choices=ApiPlan.choices,
        required=False,
        help_text=FeishuApp._meta.get_field("api_plan").help_text,
    )
    # Not required: a form posted without it (a script, an older page) keeps the current mode.
    inbound_mode = forms.ChoiceField(
        label=FeishuApp._meta.get_field("inbound_mode").verbose_name,
        choices=InboundMode.choices,
        required=False,
        widget=forms.RadioSelect,
        help_text=FeishuApp._meta.get_field("inbound_mode").help_text,
    )
    clear_encrypt_key = forms.BooleanField(
        label=_("Remove the Encrypt Key"),
        required=False,
        help_text=_("After removing it in Feishu."),
    )

    class Meta:
        model = FeishuApp
        # The secrets are the form's own write-only fields above, copied in by clean().
        fields = [
            "name",
            "platform",
            "app_id",
            "enabled",
            "war_room_enabled",
            "card_language",
            "api_base_url",
            "api_plan",
            "api_monthly_quota",
            "inbound_mode",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in SECRET_FIELDS:
                self.fields[name].help_text = KEEP
            if not self.instance.encrypt_key:
                self.fields["encrypt_key"].help_text = "Not set. " + KEEP
        else:
            self.fields["app_secret"].required = True
            self.fields["verification_token"].required = True
            self.fields.pop("clear_encrypt_key", None)
            self.fields.pop("api_plan", None)  # the guide's step 2 only; the default plan
            self.fields.pop("inbound_mode", None)  # request URL until changed on the app's page

    def clean_inbound_mode(self) -> str:
        chosen = self.cleaned_data.get("inbound_mode")
        return chosen or self.instance.inbound_mode or InboundMode.REQUEST_URL

    def clean(self) -> dict:
        cleaned = super().clean()
        # The admin builds this form with the secrets among its model fields, so whatever
        # cleaned_data holds is saved: blank means "keep", so put the stored value back.
        for name in SECRET_FIELDS:
            value = (cleaned.get(name) or "").strip() or getattr(self.instance, name) or ""
            cleaned[name] = value
            setattr(self.instance, name, value)
        if not cleaned.get("api_plan"):
            cleaned["api_plan"] = self.instance.api_plan or ApiPlan.FREE
        if cleaned.get("clear_encrypt_key"):
            if (self.data.get("encrypt_key") or "").strip():
                self.add_error("clear_encrypt_key", _("Either enter a new key or remove it."))
            cleaned["encrypt_key"] = self.instance.encrypt_key = ""
        return cleaned


@admin.register(FeishuApp)
class FeishuAppAdmin(ApiBudgetAdmin, LongConnectionAdminMixin, admin.ModelAdmin):
    form = FeishuAppForm
    list_display = [
        "name",
        "platform",
        "app_id",
        "enabled",
        "configuration",
        "active_chats",
        "connection_state",
    ]
    list_filter = ["platform", "enabled", "inbound_mode"]
    search_fields = ["name", "app_id"]
    actions = [
        "check_configuration_action",
        "sync_chats_action",
        "link_by_email_action",
    ]
    readonly_fields = [
        "web_url_field",
        "redirect_url_field",
        "card_callback_url_field",
        "event_callback_url_field",
        "checklist",
        "last_check",
        "chats_summary",
        "unlinked_people",
        "api_usage_field",
        "long_connection_field",
    ]
    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "platform",
                    "app_id",
                    "app_secret",
                    "verification_token",
                    "encrypt_key",
                ],
                "description": WHERE_CREDENTIALS_ARE,
            },
        ),
    ]
    fieldsets = [
        (None, {"fields": ["name", "platform", "app_id", "enabled"]}),
        (
            _("How Feishu reaches the console"),
            {"fields": ["inbound_mode", "long_connection_field"]},
        ),
        (
            _("Credentials"),
            {
                "fields": ["app_secret", "verification_token", "encrypt_key", "clear_encrypt_key"],
                "description": WHERE_CREDENTIALS_ARE,
            },
        ),
        (
            _("Paste these into the Feishu developer console"),
            {
                "fields": [
                    "web_url_field",
                    "redirect_url_field",
                    "card_callback_url_field",
                    "event_callback_url_field",
                ]
            },
        ),
        (_("Setup checklist"), {"fields": ["checklist", "last_check", "chats_summary"]}),
        (_("Linked accounts"), {"fields": ["unlinked_people"]}),
        (_("Options"), {"fields": ["war_room_enabled", "card_language", "api_base_url"]}),
        BUDGET_FIELDSET,
    ]
    Media = AdminMedia

    def get_fieldsets(self, request: HttpRequest, obj: FeishuApp | None = None) -> list:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[FeishuApp]:
        active = Count("chats", filter=Q(chats__status=FeishuChat.Status.ACTIVE))
        queryset = super().get_queryset(request).select_related("heartbeat")
        return queryset.annotate(active_chat_count=active)

    # --- Read-only fields -------------------------------------------------------------------

    def _url(self, app: FeishuApp, field: str, note: str) -> SafeString:
        return format_html(
            '{}<div class="help">{}</div>',
            copy_field(f"{field}-{app.pk}", getattr(app, field)),
            note,
        )

    @admin.display(description=_("web configuration URL (网页配置)"))
    def web_url_field(self, app: FeishuApp) -> SafeString:
        return self._url(
            app,
            "web_url",
            _(
                "Web App → desktop homepage and mobile homepage "
                "(网页应用 → 桌面端主页, 移动端主页)."
            ),
        )

    @admin.display(description=_("redirect URL (重定向 URL)"))
    def redirect_url_field(self, app: FeishuApp) -> SafeString:
        return self._url(
            app,
            "redirect_url",
            _("Security Settings → Redirect URLs (安全设置 → 重定向 URL; OAuth)."),
        )

    @admin.display(description=_("message card request URL (消息卡片请求网址)"))
    def card_callback_url_field(self, app: FeishuApp) -> SafeString:
        note = _("Events & Callbacks → Callback Configuration (事件与回调 → 回调配置).")
        return self._url(app, "card_callback_url", long_connection_setup.url_note(app) or note)

    @admin.display(description=_("event request URL (事件配置 → 请求地址)"))
    def event_callback_url_field(self, app: FeishuApp) -> SafeString:
        note = _(
            "Events & Callbacks → Event Configuration (事件与回调 → 事件配置). It accepts card "
            "callbacks too."
        )
        return self._url(app, "event_callback_url", long_connection_setup.url_note(app) or note)

    @admin.display(description=_("in Feishu"))
    def checklist(self, app: FeishuApp) -> SafeString:
        steps = [gettext(step) for step in long_connection_setup.checklist_for(app, CHECKLIST)]
        items = format_html_join("", "<li>{}</li>", ((SafeString(i),) for i in steps))
        return format_html('<ol class="setup-checklist">{}</ol>', items)

    @admin.display(description=_("last check"))
    def last_check(self, app: FeishuApp) -> SafeString | str:
        if app.checked_at is None:
            return _("Not checked yet: use “Check configuration” above.")
        css = "check-ok" if app.check_ok else "check-failed"
        return format_html('<span class="{}">{}</span>', css, app.check_message)

    @admin.display(description=_("chats with the bot"))
    def chats_summary(self, app: FeishuApp) -> SafeString:
        url = reverse("admin:integrations_feishuchat_changelist") + f"?app__id__exact={app.pk}"
        counts = {s: 0 for s in FeishuChat.Status}
        for status in app.chats.values_list("status", flat=True):
            counts[FeishuChat.Status(status)] += 1
        total = sum(counts.values())
        words = ngettext("%(count)d chat", "%(count)d chats", total) % {"count": total}
        return format_html('<a href="{}">{}</a>', url, counted_by_state(words, counts))

    @admin.display(description=_("people not linked yet"))
    def unlinked_people(self, app: FeishuApp) -> SafeString | str:
        targeted = escalation_targets.people_targeted_through(app)
        missing = escalation_targets.not_linked(app, targeted)
        if not missing:
            return _("Everyone the escalation rules notify through this app has linked an account.")
        names = format_html_join(", ", "{}", ((display_name(u),) for u in missing))
        return format_html(
            '<span class="check-failed">{}</span>: {}',
            names,
            gettext(
                "cards to them are recorded as “app not linked” until each opens the app once "
                "from the Feishu workplace (飞书 → 工作台)."
            ),
        )

    @admin.display(description=_("configuration"))
    def configuration(self, app: FeishuApp) -> SafeString | str:
        if app.checked_at is None:
            return _("not checked")
        if app.check_ok:
            return format_html('<span class="check-ok">{}</span>', _("works"))
        return format_html(
            '<span class="check-failed" title="{}">{}</span>', app.check_message, _("failing")
        )

    @admin.display(description=_("active chats"), ordering="active_chat_count")
    def active_chats(self, app: FeishuApp) -> int:
        return app.active_chat_count

    # --- Actions ------------------------------------------------------------------------------

    @admin.action(
        description=_("Check configuration (token and the bot's chats)"), permissions=["change"]
    )
    def check_configuration_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        for app in queryset:
            self._report_check(request, app)

    @admin.action(description=_("Sync chats now"), permissions=["change"])
    def sync_chats_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        for app in queryset:
            self._report_sync(request, app)

    @admin.action(
        description=_("Link console users by email (Feishu directory lookup)"),
        permissions=["change"],
    )
    def link_by_email_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        for app in queryset:
            self._report_bulk_link(request, app)

    def _report_bulk_link(self, request: HttpRequest, app: FeishuApp) -> None:
        """One message per outcome, each naming the people it concerns."""
        if not app.enabled:
            self.message_user(
                request,
                gettext("%(app)s: disabled; nobody was linked.") % {"app": app},
                messages.WARNING,
            )
            return
        try:
            result = bulk_linking.link_by_email(app)
        except errors.FeishuError as exc:
            self.message_user(request, f"{app}: {bulk_linking.describe_error(exc)}", messages.ERROR)
            return
        for level, text in bulk_link_report(result):
            self.message_user(request, f"{app}: {text}", level)

    def _report_check(self, request: HttpRequest, app: FeishuApp) -> None:
        result = setup_check.check_configuration(app)
        level = messages.SUCCESS if result.ok else messages.ERROR
        self.message_user(request, f"{app}: {result.message}", level)

    def _report_sync(self, request: HttpRequest, app: FeishuApp) -> None:
        try:
            result = chats.sync_chats(app)
        except errors.FeishuError as exc:
            self.message_user(
                request,
                gettext("%(app)s: chats not synced: %(error)s") % {"app": app, "error": exc},
                messages.ERROR,
            )
        else:
            self.message_user(request, f"{app}: {result}.", messages.SUCCESS)

    # Buttons on the change page (templates/admin/integrations/feishuapp/change_form.html).
    def get_urls(self) -> list:
        own = [
            path(
                "<int:pk>/check/",
                self.admin_site.admin_view(require_POST(self.check_view)),
                name="integrations_feishuapp_check",
            ),
            path(
                "<int:pk>/sync-chats/",
                self.admin_site.admin_view(require_POST(self.sync_view)),
                name="integrations_feishuapp_sync",
            ),
            path(
                "<int:pk>/test-card/",
                self.admin_site.admin_view(self.test_card_view),
                name="integrations_feishuapp_test_card",
            ),
        ]
        return own + super().get_urls()

    def _app_for_change(self, request: HttpRequest, pk: int) -> FeishuApp:
        app = get_object_or_404(FeishuApp, pk=pk)
        if not self.has_change_permission(request, app):
            raise PermissionDenied
        return app

    def check_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        app = self._app_for_change(request, pk)
        self._report_check(request, app)
        return HttpResponseRedirect(reverse("admin:integrations_feishuapp_change", args=[pk]))

    def sync_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        app = self._app_for_change(request, pk)
        self._report_sync(request, app)
        return HttpResponseRedirect(reverse("admin:integrations_feishuapp_change", args=[pk]))

    def test_card_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Send an example card to a linked person or a chat, to see the whole path work."""
        app = self._app_for_change(request, pk)
        form = TestCardForm(app, request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                message_id = sample.send_test_card(app, form.cleaned_data["recipient"])
            except errors.FeishuError as exc:
                self.message_user(
                    request,
                    gettext("Test card not sent: %(error)s") % {"error": exc},
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request, gettext("Test card sent (message %(id)s).") % {"id": message_id}
                )
                return HttpResponseRedirect(
                    reverse("admin:integrations_feishuapp_change", args=[pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Send a test card through %(app)s") % {"app": app},
            "opts": self.model._meta,
            "original": app,
            "form": form,
        }
        return TemplateResponse(request, "admin/integrations/feishuapp/test_card.html", context)


class TestCardForm(forms.Form):
    recipient = forms.ChoiceField(
        help_text=_(
            "A person with a linked account (their direct messages), or a group chat the bot is in."
        )
    )

    def __init__(self, app: FeishuApp, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        people = [
            (f"user:{link.user_id}", f"{display_name(link.user)} ({link.name or link.open_id})")
            for link in app.linked_accounts.select_related("user")
        ]
        chats = [
            (f"chat:{chat.pk}", chat.name or chat.chat_id)
            for chat in app.chats.filter(status=FeishuChat.Status.ACTIVE)
        ]
        self.fields["recipient"].choices = [("People", people), ("Chats", chats)]
