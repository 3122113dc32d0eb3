"""Custom incident actions and link integrations in the admin, each on its own page with a
channel filter: an action's headers are write-only (the form shows their names), its signing
secret is shown once, on a page of its own, after it is created or rotated; its body is tried
on the sample incident; its latest calls are listed. A link shows what it makes of the sample."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oncall.admin.signed_receivers import HeadersForm, SigningSecretAdmin
from oncall.custom_actions import payload, templates
from oncall.custom_actions.runs import timeline_message
from oncall.models import CustomAction, LinkIntegration
from oncall.notify.preview import sample_incident

RUNS_SHOWN = 10


class CustomActionForm(HeadersForm, forms.ModelForm):
    class Meta:
        model = CustomAction
        fields = [
            "name",
            "description",
            "enabled",
            "channels",
            "icon",
            "colour",
            "style",
            "confirm",
            "url",
            "method",
            "body_kind",
            "body_template",
            "content_type",
        ]
        widgets = {
            "body_template": forms.Textarea(
                attrs={"rows": 10, "cols": 100, "class": "template-body", "spellcheck": "false"}
            )
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        channels = cleaned.get("channels")
        if channels is not None:
            try:
                # The admin's change view is one transaction: the channels' locks hold till
                # the action is saved in them.
                self.instance.check_room_in(channels)
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(CustomAction)
class CustomActionAdmin(SigningSecretAdmin):
    form = CustomActionForm
    list_display = ["name", "offered_in", "method", "url", "enabled", "last_call"]
    list_filter = ["enabled", "channels"]
    search_fields = ["name", "description", "url"]
    filter_horizontal = ["channels"]
    readonly_fields = ["header_names", "secret", "body_on_the_sample", "latest_calls"]
    actions = ["rotate_secrets"]  # SigningSecretAdmin's
    fieldsets = [
        (None, {"fields": ["name", "description", "enabled", "channels"]}),
        (gettext_lazy("Button"), {"fields": ["icon", "colour", "style", "confirm"]}),
        (
            gettext_lazy("Call"),
            {
                "fields": [
                    "url",
                    "method",
                    "header_names",
                    "headers",
                    "clear_headers",
                    "body_kind",
                    "body_template",
                    "content_type",
                    "body_on_the_sample",
                    "secret",
                ]
            },
        ),
        (gettext_lazy("Latest calls"), {"fields": ["latest_calls"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("channels")

    @admin.display(description=gettext_lazy("channels"))
    def offered_in(self, action: CustomAction) -> str:
        return ", ".join(channel.name for channel in action.channels.all()) or "-"

    @admin.display(description=gettext_lazy("last call"))
    def last_call(self, action: CustomAction) -> str:
        run = action.runs.select_related("action", "actor").first()
        return str(timeline_message(run)) if run and not run.in_flight else "-"

    @admin.display(description=gettext_lazy("signing secret"))
    def secret(self, action: CustomAction) -> str:
        if not action.pk:
            return _("Generated when the action is saved, and shown once then.")
        if action.previous_secret_until:
            return _(
                "Shown once, when made. Rotated: the previous secret signs too until %(until)s."
            ) % {"until": localize(localtime(action.previous_secret_until))}
        return _("Shown once, when made; the button “Rotate the signing secret” makes a new one.")

    @admin.display(description=gettext_lazy("try it: the body on the sample incident"))
    def body_on_the_sample(self, action: CustomAction) -> SafeString | str:
        if action.body_kind != CustomAction.BodyKind.TEMPLATE:
            incident, alerts = sample_incident()
            text = payload.body(action, incident, None, "msg_example", timezone.now(), alerts)
            shown_json = json.dumps(json.loads(text), ensure_ascii=False, indent=2)
            return format_html("<pre>{}</pre>", shown_json)
        shown = templates.preview_body(action.body_template, action.content_type, None)
        if shown["error"]:
            return format_html('<span class="errornote">{}</span>', shown["error"])
        return format_html("<pre>{}</pre>", shown["text"])

    @admin.display(description=gettext_lazy("latest calls"))
    def latest_calls(self, action: CustomAction) -> SafeString | str:
        if not action.pk:
            return "-"
        recent = action.runs.select_related("action", "actor", "incident")[:RUNS_SHOWN]
        rows = [
            (localize(localtime(run.created_at)), f"#{run.incident.number}", _words(run))
            for run in recent
        ]
        if not rows:
            return _("Not called yet.")
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )


def _words(run: Any) -> str:
    return str(run.get_status_display()) if run.in_flight else str(timeline_message(run))


class LinkIntegrationForm(forms.ModelForm):
    class Meta:
        model = LinkIntegration
        fields = ["channel", "name", "url_template", "position"]
        widgets = {"url_template": forms.TextInput(attrs={"size": 100})}


@admin.register(LinkIntegration)
class LinkIntegrationAdmin(admin.ModelAdmin):
    form = LinkIntegrationForm
    list_display = ["name", "channel", "url_template", "position"]
    list_filter = ["channel"]
    list_select_related = ["channel"]
    search_fields = ["name", "url_template", "channel__name"]
    autocomplete_fields = ["channel"]
    readonly_fields = ["on_the_sample"]

    @admin.display(description=gettext_lazy("on the sample incident"))
    def on_the_sample(self, link: LinkIntegration) -> str:
        if not link.url_template:
            return "-"
        try:
            return templates.link_on_sample(link.url_template)
        except ValidationError as error:
            return " ".join(error.messages)
