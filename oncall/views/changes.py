"""A channel's changes (``/channels/<id>/changes/``): what its change sources recorded, latest
first, filtered by time. Read-only, like the channel's page; the incident page shows the changes
before each incident (``oncall.changes.changes_before``)."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET

from oncall.changes import channel_changes
from oncall.permissions import visible_channels

PAGE_SIZE = 50
_LOCAL_INPUT = {"type": "datetime-local"}
_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]


class ChangeFilterForm(forms.Form):
    """From and until (in the console's time zone), both optional."""

    since = forms.DateTimeField(
        label=pgettext_lazy("change list", "From"),
        required=False,
        input_formats=_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs=_LOCAL_INPUT, format="%Y-%m-%dT%H:%M"),
    )
    until = forms.DateTimeField(
        label=_("Until"),
        required=False,
        input_formats=_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs=_LOCAL_INPUT, format="%Y-%m-%dT%H:%M"),
    )

    def clean(self) -> dict:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("Until must be after From."))
        return cleaned


@login_required
@require_GET
def channel_change_list(request: HttpRequest, public_id: UUID) -> HttpResponse:
    channel = get_object_or_404(visible_channels(request.user), public_id=public_id)
    form = ChangeFilterForm(request.GET)
    bounds = form.cleaned_data if form.is_valid() else {}
    changes = channel_changes([channel.pk], since=bounds.get("since"), until=bounds.get("until"))
    page = Paginator(changes, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"channel": channel, "form": form, "page": page, "query": query.urlencode()}
    return render(request, "oncall/channel_changes.html", context)
