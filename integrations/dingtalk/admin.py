"""The DingTalk app integration in the admin: the guide's form (CorpId, AgentId, Client ID,
Client Secret, the event subscription's aes_key and Signature Token; the war room's Template ID
and Bot ID), the URLs to paste back into DingTalk with Copy buttons, the guide's checklist and
"Check configuration"; and the groups where the cool app is installed.

Secrets are write-only: the form never renders them back ("leave blank to keep").
"""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from integrations.dingtalk import (
    admin_cards,
    admin_war_rooms,  # noqa: F401 -- registers its admin
    setup_check,
)
from integrations.dingtalk.models import (
    DingTalkAccount,
    DingTalkApp,
    DingTalkGroup,
    validate_aes_key,
)
from integrations.dingtalk.oauth import bulk_linking
from oncall.admin import AdminMedia, copy_field
from oncall.admin.shared import counted_by_state

SECRET_FIELDS = ("client_secret", "aes_key", "signature_token")
# Moments in the page's sentences, the same in every language (no "p.m." before a full stop).
MOMENT_FORMAT = "Y-m-d H:i"
KEEP = _("Leave blank to keep the current value.")

# The setup guide's checklist (DingTalk developer console), in the order an admin works. HTML
# written here, never user input.
CHECKLIST = [
    _(
        "Credentials &amp; Basic Info (凭证与基础信息): copy the <b>AgentId</b>, "
        "<b>Client ID</b> and <b>Client Secret</b>, and the <b>CorpId</b> from the menu under "
        "the organisation's avatar, into this form."
    ),
    _(
        "Events &amp; Callbacks (事件与回调): choose <b>HTTP Push</b> (HTTP 推送), generate the "
        "<b>aes_key</b> and the <b>Signature Token</b>, enter them here and save."
    ),
    _(
        "Event Subscription (事件订阅): set the request URL to the <b>event subscription "
        "request URL</b> and save; DingTalk checks it at once (“event subscription” below "
        "shows it)."
    ),
    _(
        "Below its Save button, subscribe to the three group events: group chat name changed "
        "(<code>chat_update_title</code>), cool app installed in a group "
        "(<code>im_cool_app_install</code>) and cool app uninstalled from a group "
        "(<code>im_cool_app_uninstall</code>); save."
    ),
    _(
        "Cool App (酷应用): create one that extends to group chats, with <b>Group Quick "
        "Access</b> (群快捷入口) and <b>Message Card</b> (消息卡片); its desktop and mobile "
        "access address is the <b>cool app web URL</b>; then publish it."
    ),
    _("Bot (机器人): turn the bot on, give it a name and an icon, save."),
    _(
        "Web App (网页应用): set the <b>application homepage URL</b> and the <b>PC homepage "
        "URL</b>; save."
    ),
    _(
        "Permissions (权限管理): request <code>qyapi_chat_manage</code> (group chat "
        "information) and <code>qyapi_robot_sendmsg</code> (messages to groups and people)."
    ),
    _(
        "War rooms (optional): request <code>qyapi_chat_read</code>, "
        "<code>qyapi_chat_base_read</code> and <code>qyapi_get_member_by_mobile</code>; under "
        "Scene Group (场景群) create a group bot and a group template that uses it, publish "
        "the template and enter its <b>Template ID</b> and <b>Bot ID</b> below."
    ),
    _(
        "Version Management (版本管理与发布): make the app visible to all employees, create a "
        "version and publish it."
    ),
    _(
        "In DingTalk, install the cool app in each group that should receive cards: the group "
        "then appears under DingTalk groups here."
    ),
]


class DingTalkAppForm(forms.ModelForm):
    client_secret = forms.CharField(
        label=_("Client Secret (AppSecret)"), widget=forms.PasswordInput, required=False
    )
    aes_key = forms.CharField(
        label=_("Encryption aes_key"),
        widget=forms.PasswordInput,
        required=False,
        validators=[validate_aes_key],
    )
    signature_token = forms.CharField(
        label=_("Signature Token"), widget=forms.PasswordInput, required=False
    )

    class Meta:
        model = DingTalkApp
        # The secrets are the form's own write-only fields above, copied in by clean().
        fields = [
            "name",
            "platform",
            "corp_id",
            "agent_id",
            "client_id",
            "enabled",
            "event_mode",
            "war_room_template_id",
            "war_room_bot_id",
            "api_base_url",
            "api_plan",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            for name in SECRET_FIELDS:
                self.fields[name].help_text = KEEP
        else:
            for name in SECRET_FIELDS:
                self.fields[name].required = True
        if "api_plan" in self.fields:
            # A form posted without it (a script, an older page) keeps the current plan.
            self.fields["api_plan"].required = False

    def clean_api_plan(self) -> str:
        return self.cleaned_data.get("api_plan") or self.instance.api_plan

    def clean(self) -> dict:
        cleaned = super().clean()
        # The admin builds this form with the secrets among its model fields, so whatever
        # cleaned_data holds is saved: blank means "keep", so put the stored value back.
        for name in SECRET_FIELDS:
            value = (cleaned.get(name) or "").strip() or getattr(self.instance, name) or ""
            cleaned[name] = value
            setattr(self.instance, name, value)
        return cleaned


class LinkByMobileForm(forms.Form):
    people = forms.CharField(
        label=_("people"),
        widget=forms.Textarea(attrs={"rows": 10, "cols": 60}),
        help_text=_(
            "One person a line: their console username or e-mail, then their mobile number as "
            "DingTalk has it (alice, 13800000001). At most 200; each costs two API calls."
        ),
    )

    def clean_people(self) -> list[tuple[str, str]]:
        pairs = bulk_linking.parse(self.cleaned_data["people"])
        if not pairs:
            raise forms.ValidationError(_("Write at least one person."))
        if len(pairs) > bulk_linking.MAX_PEOPLE:
            raise forms.ValidationError(
                _("At most %(count)s people at once.") % {"count": bulk_linking.MAX_PEOPLE}
            )
        return pairs


@admin.register(DingTalkApp)
class DingTalkAppAdmin(admin.ModelAdmin):
    form = DingTalkAppForm
    list_display = [
        "name",
        "platform",
        "corp_id",
        "client_id",
        "enabled",
        "configuration",
        "groups",
    ]
    list_filter = ["platform", "enabled", "api_plan"]
    search_fields = ["name", "client_id", "corp_id"]
    actions = ["check_configuration_action"]
    readonly_fields = [
        "event_url_field",
        "homepage_url_field",
        "pc_homepage_url_field",
        "cool_app_url_field",
        "oauth_redirect_url_field",
        "checklist",
        "last_check",
        "event_subscription",
        "groups_summary",
        "plan_limits",
        "api_usage",
    ]
    add_fieldsets = [
        (
            None,
            {
                "fields": [
                    "name",
                    "platform",
                    "corp_id",
                    "agent_id",
                    "client_id",
                    "client_secret",
                    "aes_key",
                    "signature_token",
                ],
                "description": _(
                    "Copy these from the DingTalk developer console: the CorpId (the menu under "
                    "the organisation's avatar), Credentials & Basic Info (AgentId, Client ID, "
                    "Client Secret) and Events & Callbacks with HTTP Push (aes_key, Signature "
                    "Token)."
                ),
            },
        ),
    ]
    fieldsets = [
        (None, {"fields": ["name", "platform", "corp_id", "agent_id", "client_id", "enabled"]}),
        (
            _("Credentials"),
            {"fields": ["client_secret", "aes_key", "signature_token", "event_mode"]},
        ),
        (
            _("Paste these into the DingTalk developer console"),
            {
                "fields": [
                    "event_url_field",
                    "homepage_url_field",
                    "pc_homepage_url_field",
                    "cool_app_url_field",
                    "oauth_redirect_url_field",
                ]
            },
        ),
        (
            _("Setup checklist"),
            {"fields": ["checklist", "last_check", "event_subscription", "groups_summary"]},
        ),
        (_("War room (group template)"), {"fields": ["war_room_template_id", "war_room_bot_id"]}),
        (_("API budget (调用量)"), {"fields": ["api_plan", "plan_limits", "api_usage"]}),
        (_("Options"), {"fields": ["api_base_url"]}),
    ]
    Media = AdminMedia

    def get_fieldsets(self, request: HttpRequest, obj: DingTalkApp | None = None) -> list:
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_queryset(self, request: HttpRequest) -> QuerySet[DingTalkApp]:
        active = Count("groups", filter=Q(groups__status=DingTalkGroup.Status.ACTIVE))
        return super().get_queryset(request).annotate(active_group_count=active)

    # --- Read-only fields -------------------------------------------------------------------

    def _url(self, app: DingTalkApp, field: str, note: str) -> SafeString:
        return format_html(
            '{}<div class="help">{}</div>',
            copy_field(f"{field}-{app.pk}", getattr(app, field)),
            note,
        )

    @admin.display(description=_("event subscription request URL"))
    def event_url_field(self, app: DingTalkApp) -> SafeString:
        return self._url(app, "event_url", gettext("Event Subscription (事件订阅) → request URL."))

    @admin.display(description=_("application homepage URL"))
    def homepage_url_field(self, app: DingTalkApp) -> SafeString:
        note = gettext("Web App (网页应用) → application homepage URL.")
        return self._url(app, "homepage_url", note)

    @admin.display(description=_("PC homepage URL"))
    def pc_homepage_url_field(self, app: DingTalkApp) -> SafeString:
        return self._url(app, "pc_homepage_url", gettext("Web App (网页应用) → PC homepage URL."))

    @admin.display(description=_("cool app web URL"))
    def cool_app_url_field(self, app: DingTalkApp) -> SafeString:
        note = gettext("Cool App → Group Quick Access: desktop and mobile access address.")
        return self._url(app, "cool_app_url", note)

    @admin.display(description=_("sign-in redirect URL"))
    def oauth_redirect_url_field(self, app: DingTalkApp) -> SafeString:
        note = gettext("Login & Share (登录与分享) → redirect URL (回调域名).")
        return self._url(app, "oauth_redirect_url", note)

    @admin.display(description=_("in DingTalk"))
    def checklist(self, app: DingTalkApp) -> SafeString:
        # The items are this module's own HTML (translated), never user input.
        items = format_html_join("", "<li>{}</li>", ((mark_safe(item),) for item in CHECKLIST))  # noqa: S308
        return format_html('<ol class="setup-checklist">{}</ol>', items)

    @admin.display(description=_("last check"))
    def last_check(self, app: DingTalkApp) -> SafeString | str:
        if app.checked_at is None:
            return gettext("Not checked yet: use “Check configuration” above.")
        css = "check-ok" if app.check_ok else "check-failed"
        return format_html('<span class="{}">{}</span>', css, app.check_message)

    @admin.display(description=_("event subscription"))
    def event_subscription(self, app: DingTalkApp) -> str:
        if app.url_verified_at is None:
            return gettext("DingTalk has not checked the request URL yet.")
        checked = gettext("DingTalk checked the request URL on %(when)s.") % {
            "when": _moment(app.url_verified_at)
        }
        if app.last_event_at is None:
            return checked + " " + gettext("No event received yet.")
        return (
            checked
            + " "
            + gettext("Last event received on %(when)s.") % {"when": _moment(app.last_event_at)}
        )

    @admin.display(description=_("groups with the cool app"))
    def groups_summary(self, app: DingTalkApp) -> SafeString:
        url = reverse("admin:dingtalk_dingtalkgroup_changelist") + f"?app__id__exact={app.pk}"
        counts = {status: 0 for status in DingTalkGroup.Status}
        for status in app.groups.values_list("status", flat=True):
            counts[DingTalkGroup.Status(status)] += 1
        total = sum(counts.values())
        words = ngettext("%(count)d group", "%(count)d groups", total) % {"count": total}
        return format_html('<a href="{}">{}</a>', url, counted_by_state(words, counts))

    @admin.display(description=_("limits of this edition"))
    def plan_limits(self, app: DingTalkApp) -> str:
        limits = app.plan_limits
        return gettext("%(month)s calls a month, %(second)s a second (refreshed on the 1st).") % {
            "month": f"{limits.calls_per_month:,}",
            "second": limits.calls_per_second,
        }

    @admin.display(description=_("Open API calls this month"))
    def api_usage(self, app: DingTalkApp) -> SafeString:
        return admin_cards.api_usage_field(app)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context=None
    ):
        """Say it at the top of the page when this month's calls reach 80 % or are spent."""
        app = self.get_object(request, object_id)
        warning = admin_cards.budget_warning(app) if app and request.method == "GET" else None
        if warning:
            self.message_user(request, warning, messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.display(description=_("configuration"))
    def configuration(self, app: DingTalkApp) -> SafeString | str:
        if app.checked_at is None:
            return gettext("not checked")
        if app.check_ok:
            return format_html('<span class="check-ok">{}</span>', gettext("works"))
        return format_html(
            '<span class="check-failed" title="{}">{}</span>', app.check_message, gettext("failing")
        )

    @admin.display(description=_("active groups"), ordering="active_group_count")
    def groups(self, app: DingTalkApp) -> int:
        return app.active_group_count

    # --- Check configuration -----------------------------------------------------------------

    # The change permission, as the button and the API's check ask (an action without
    # allowed_permissions would be open to staff who may only view apps).
    @admin.action(
        description=_("Check configuration (fetch an access token)"),
        permissions=["change"],
    )
    def check_configuration_action(self, request: HttpRequest, queryset: QuerySet) -> None:
        for app in queryset:
            self._report_check(request, app)

    def _report_check(self, request: HttpRequest, app: DingTalkApp) -> None:
        result = setup_check.check_configuration(app)
        level = messages.SUCCESS if result.ok else messages.ERROR
        self.message_user(request, f"{app}: {result.message}", level)

    # The button on the change page (templates/admin/dingtalk/dingtalkapp/change_form.html).
    def get_urls(self) -> list:
        own = [
            path(
                "<int:pk>/check/",
                self.admin_site.admin_view(require_POST(self.check_view)),
                name="dingtalk_dingtalkapp_check",
            ),
            path(
                "<int:pk>/link-by-mobile/",
                self.admin_site.admin_view(self.link_by_mobile_view),
                name="dingtalk_dingtalkapp_link_by_mobile",
            ),
        ]
        return own + super().get_urls()

    def link_by_mobile_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """One-click linking (``oauth.bulk_linking``): the form (GET), the result per person
        (POST)."""
        app = get_object_or_404(DingTalkApp, pk=pk)
        if not self.has_change_permission(request, app):
            raise PermissionDenied
        form = LinkByMobileForm(request.POST or None)
        rows = None
        if request.method == "POST" and form.is_valid():
            rows = bulk_linking.link_by_mobile(app, form.cleaned_data["people"])
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "app": app,
            "form": form,
            "rows": rows,
            "linked": sum(row.linked for row in rows or []),
            "title": gettext("Link console users by mobile number"),
        }
        return TemplateResponse(request, "admin/dingtalk/dingtalkapp/link_by_mobile.html", context)

    def check_view(self, request: HttpRequest, pk: int) -> HttpResponseRedirect:
        app = get_object_or_404(DingTalkApp, pk=pk)
        if not self.has_change_permission(request, app):
            raise PermissionDenied
        self._report_check(request, app)
        return HttpResponseRedirect(reverse("admin:dingtalk_dingtalkapp_change", args=[pk]))


def _moment(value: datetime) -> str:
    return formats.date_format(timezone.localtime(value), MOMENT_FORMAT)


@admin.register(DingTalkGroup)
class DingTalkGroupAdmin(admin.ModelAdmin):
    """Kept current by DingTalk's group events: read-only here. A group whose cool app was
    uninstalled stays listed (as broken) so that whatever targets it can be fixed."""

    list_display = ["__str__", "app", "status_badge", "open_conversation_id", "status_changed_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter), "status"]
    search_fields = ["name", "open_conversation_id"]
    list_select_related = ["app"]
    readonly_fields = [
        "app",
        "open_conversation_id",
        "name",
        "status",
        "cool_app_code",
        "robot_code",
        "scene_group",
        "operator",
        "first_seen_at",
        "status_changed_at",
        "renamed_at",
    ]
    Media = AdminMedia

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description=pgettext_lazy("dingtalk group", "status"), ordering="status")
    def status_badge(self, group: DingTalkGroup) -> SafeString:
        css = "check-ok" if group.usable else "check-failed"
        return format_html('<span class="{}">{}</span>', css, group.get_status_display())


@admin.register(DingTalkAccount)
class DingTalkAccountAdmin(admin.ModelAdmin):
    """Who is linked to which DingTalk app. Links are made by the people themselves (the app's
    homepage or "My account") or by linking by mobile; an admin may remove one (the person then
    links again), and may enter a person by their userid (the address book's userid / staffId)
    or correct a userid: that is where one-to-one cards go and whose clicks act as them. What
    sign-in reveals (unionId, name, email, avatar) is never typed in."""

    list_display = ["user", "app", "name", "union_id", "dingtalk_user_id", "linked_at"]
    list_filter = [("app", admin.RelatedOnlyFieldListFilter)]
    search_fields = [
        "user__username",
        "user__email",
        "name",
        "email",
        "union_id",
        "dingtalk_user_id",
    ]
    list_select_related = ["user", "app"]
    autocomplete_fields = ["user"]
    fields = [
        "user",
        "app",
        "dingtalk_user_id",
        "mobile",
        "union_id",
        "name",
        "email",
        "avatar_url",
        "linked_at",
        "updated_at",
    ]
    _SIGN_IN_FIELDS = ["union_id", "name", "email", "avatar_url", "linked_at", "updated_at"]
    Media = AdminMedia

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # Whose link it is and to which app are fixed once made: relinking is the person's.
        return self._SIGN_IN_FIELDS if obj is None else ["user", "app", *self._SIGN_IN_FIELDS]
