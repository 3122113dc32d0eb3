"""What the admins of webhook endpoints and custom actions share (``SignedReceiverMixin``).

Headers are write-only: the form takes ``Name: value`` lines, the page shows their names only.

The signing secret made when the object is added, or by a rotation, is shown once on a page of
its own, rendered in the answer that made it. Never in a message: Django's messages travel in a
cookie or the session, where a secret must not be. Rotating is a change (the receivers must be
given the new secret), so it takes the change permission, from the list (an action) as from the
object's page (a button)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from oncall.admin.shared import AdminMedia, copy_field
from oncall.webhooks import headers as custom_headers

SECRETS_PAGE = "admin/oncall/signing_secrets.html"


class HeadersForm(forms.Form):
    """Mixed into the model's form, before ``forms.ModelForm``: new headers replace the stored
    ones (given to the object before the model's ``clean`` checks them), none keeps them."""

    headers = forms.CharField(
        label=gettext_lazy("custom headers"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80, "spellcheck": "false"}),
        help_text=gettext_lazy(
            "One “Name: value” per line, e.g. “Authorization: Bearer …”. Stored encrypted and "
            "never shown again: leave empty to keep the current headers."
        ),
    )
    clear_headers = forms.BooleanField(label=gettext_lazy("Remove every header"), required=False)

    def clean_headers(self) -> dict[str, str] | None:
        text = self.cleaned_data.get("headers") or ""
        return custom_headers.parse_lines(text) if text.strip() else None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("clear_headers"):
            self.instance.headers = {}  # type: ignore[attr-defined]
        elif cleaned.get("headers") is not None:
            self.instance.headers = cleaned["headers"]  # type: ignore[attr-defined]
        return cleaned


class SigningSecretAdmin(admin.ModelAdmin):
    """The admin of a model with a signing secret of its own (``SignedReceiverMixin``)."""

    change_form_template = "admin/oncall/signing_secret_change_form.html"

    class Media(AdminMedia):
        pass

    @admin.display(description=gettext_lazy("current custom headers"))
    def header_names(self, obj: Any) -> str:
        names = ", ".join(sorted(obj.headers))
        return names + _(" (values hidden)") if names else "—"

    def get_urls(self) -> list:
        name = f"{self.opts.app_label}_{self.opts.model_name}_rotate_secret"
        view = self.admin_site.admin_view(self.rotate_secret_view)
        return [path("<path:object_id>/rotate-secret/", view, name=name), *super().get_urls()]

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """The change page's "Rotate the signing secret" button (a POST, CSRF-checked)."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            raise Http404
        if not self.has_change_permission(request, obj):
            raise PermissionDenied
        return self.secrets_page(request, [(obj, obj.rotate_secret())])

    @admin.action(
        description=gettext_lazy("Rotate the signing secret (the old one signs for a while)"),
        permissions=["change"],
    )
    def rotate_secrets(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        return self.secrets_page(request, [(obj, obj.rotate_secret()) for obj in queryset])

    def response_add(self, request: HttpRequest, obj: Any, *args: Any) -> HttpResponse:
        return self.secrets_page(request, [(obj, obj.current_secret)])

    def secrets_page(self, request: HttpRequest, shown: list[tuple[Model, str]]) -> HttpResponse:
        """The secrets, once. The admin's views answer with ``Cache-Control: no-store``."""
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Signing secrets"),
            "secrets": [(obj, copy_field(f"secret-{obj.pk}", secret)) for obj, secret in shown],
        }
        return TemplateResponse(request, SECRETS_PAGE, context)
