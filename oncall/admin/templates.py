"""Notification templates in the admin: one editor per medium the platforms declare, checked
on save (syntax with line numbers, unknown names, a trial render), a live preview on a real
recent incident or the sample, "reset to default", and the last failure at send time."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.formats import localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from oncall.admin.shared import AdminMedia
from oncall.models import Incident, NotificationTemplate
from oncall.notify.context import VARIABLES
from oncall.notify.engine import Medium
from oncall.notify.media import media
from oncall.notify.preview import check, preview

FUNCTIONS_HELP = (
    "joinAlertLabels(root, key, sep), alertLabels(root, key), toHtml(a, b, ...), "
    "jsonGet(text, path), imageSrcToURL(root, src), transferImage(root, src), "
    "date(layout, time), ago(time), colorSeverity(s), toSeverity(s), fireReason(root), "
    "index(map, key), eq/ne/lt/le/gt/ge(a, b), contains(needle, text), hasPrefix(text, p), "
    "hasSuffix(text, s), trunc(n, text), clip(text, n), oneLine(text), default(fallback, v), "
    "upper, lower, trim"
)


def body_field(medium: Medium) -> str:
    return f"body_{medium.name}"


def reset_field(medium: Medium) -> str:
    return f"reset_{medium.name}"


def media_fields() -> dict[str, forms.Field]:
    """A text box and a "reset" box per medium, declared on a subclass of the form (the
    admin's form factory refuses names that are not model fields otherwise)."""
    fields: dict[str, forms.Field] = {}
    for medium in media():
        fields[body_field(medium)] = forms.CharField(
            label=medium.label,
            required=False,
            strip=False,
            widget=forms.Textarea(
                attrs={"rows": 14, "cols": 100, "class": "template-body", "spellcheck": "false"}
            ),
            help_text=_(
                "Jinja. Markup: %(syntax)s. At most %(limit)s characters are sent; longer "
                "output is cut visibly. Values are escaped for this medium."
            )
            % {"syntax": medium.syntax or "-", "limit": f"{medium.max_chars:,}"},
        )
        fields[reset_field(medium)] = forms.BooleanField(
            label=_("Reset %(medium)s to the built-in default") % {"medium": medium.label},
            required=False,
        )
    return fields


class NotificationTemplateForm(forms.ModelForm):
    """The bodies as one text box per medium (the model keeps them in one JSON object)."""

    class Meta:
        model = NotificationTemplate
        fields = ["name", "description"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stored = self.instance.bodies or {}
        for medium in media():
            if body_field(medium) in self.fields:
                self.fields[body_field(medium)].initial = stored.get(medium.name) or medium.default

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        bodies: dict[str, str] = {}
        for medium in media():
            body = (cleaned.get(body_field(medium)) or "").replace("\r\n", "\n")
            if cleaned.get(reset_field(medium)) or not body.strip():
                continue
            if body.strip() == medium.default.strip():
                continue  # unchanged: keep following the built-in default
            for problem in check(body, medium):
                self.add_error(body_field(medium), problem)
            bodies[medium.name] = body
        self.instance.bodies = bodies
        return cleaned


@admin.register(NotificationTemplate)
class NotificationTemplateAdmin(admin.ModelAdmin):
    form = NotificationTemplateForm
    list_display = ["name", "description", "used_by", "error_count", "last_error_at"]
    search_fields = ["name", "description"]
    readonly_fields = ["used_by", "last_failure", "reference"]
    change_form_template = "admin/oncall/notificationtemplate/change_form.html"

    class Media(AdminMedia):
        js = [*AdminMedia.js, "oncall/template_preview.js"]

    def get_fieldsets(self, request: HttpRequest, obj: NotificationTemplate | None = None):
        bodies = []
        for medium in media():
            bodies += [body_field(medium), reset_field(medium)]
        return [
            (None, {"fields": ["name", "description", "used_by"]}),
            (gettext_lazy("Bodies"), {"fields": bodies}),
            (gettext_lazy("Variables and functions"), {"fields": ["reference"]}),
            (gettext_lazy("Failures at send time"), {"fields": ["last_failure"]}),
        ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs):
        kwargs["form"] = type("NotificationTemplateForm", (self.form,), media_fields())
        return super().get_form(request, obj, change, **kwargs)

    def get_urls(self) -> list:
        urls = [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name="oncall_notificationtemplate_preview",
            )
        ]
        return urls + super().get_urls()

    def render_change_form(self, request: HttpRequest, context: dict, *args: Any, **kwargs: Any):
        context["preview_url"] = reverse("admin:oncall_notificationtemplate_preview")
        context["preview_incidents"] = _recent_incidents(kwargs.get("obj"))
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.display(description=gettext_lazy("used by"))
    def used_by(self, template: NotificationTemplate) -> str:
        if not template.pk:
            return "-"
        channels = [c.name for c in template.channels.all()]
        rules = [f"{r.channel.name} / {r.name}" for r in template.escalation_rules.all()]
        return ", ".join(channels + rules) or _("nothing yet: choose it on a channel or rule")

    @admin.display(description=gettext_lazy("last failure"))
    def last_failure(self, template: NotificationTemplate) -> SafeString | str:
        if not template.last_error_at:
            return _("None: every notification was rendered with this template.")
        incident = template.last_error_incident
        link = (
            format_html(
                '<a href="{}">#{}</a>',
                reverse("admin:oncall_incident_change", args=[incident.pk]),
                incident.number,
            )
            if incident
            else "-"
        )
        return format_html(
            "{} · {} · {} ({}: {})",
            localize(localtime(template.last_error_at)),
            link,
            template.last_error,
            _("failures so far"),
            template.error_count,
        )

    @admin.display(description=gettext_lazy("reference"))
    def reference(self, template: NotificationTemplate) -> SafeString:
        rows = format_html_join(
            "", "<tr><td><code>{}</code></td><td>{}</td></tr>", VARIABLES.items()
        )
        return format_html(
            "<table>{}</table><p><b>{}</b> <code>{}</code></p>",
            rows,
            _("Functions:"),
            FUNCTIONS_HELP,
        )

    def preview_view(self, request: HttpRequest) -> JsonResponse:
        return _preview(request)


@require_POST
def _preview(request: HttpRequest) -> JsonResponse:
    """The editor's bodies rendered, without saving: ``{medium: {text, error, default}}``."""
    if not (
        request.user.has_perm("oncall.change_notificationtemplate")
        or request.user.has_perm("oncall.add_notificationtemplate")
    ):
        raise PermissionDenied
    bodies = {
        medium.name: request.POST.get(body_field(medium), "")
        for medium in media()
        if not request.POST.get(reset_field(medium))
    }
    incident = None
    if request.POST.get("preview_incident"):
        incident = get_object_or_404(Incident, pk=request.POST["preview_incident"])
    return JsonResponse({"media": preview(bodies, incident)})


def _recent_incidents(template: NotificationTemplate | None) -> list[Incident]:
    """The latest incidents of the channels using the template (else of any channel)."""
    incidents = Incident.objects.select_related("channel").order_by("-created_at")
    if template is not None and template.pk and template.channels.exists():
        incidents = incidents.filter(channel__in=template.channels.all())
    return list(incidents[:10])
