"""Opening an incident by hand: ``/incidents/new/`` (``?channel=<id>`` chooses the channel, as
the channel page's link does). The form's answer goes through ``lifecycle.open_incident``,
which checks membership and every value again; the new incident's page follows."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods

from oncall import lifecycle
from oncall.forms import NewIncidentForm
from oncall.models import ActionSource
from oncall.timeline import Actor
from oncall.wording import DONE


@login_required
@require_http_methods(["GET", "POST"])
def new_incident(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    initial = {"channel": request.GET.get("channel", "")}
    form = NewIncidentForm(data, request.user, initial=initial)
    if form.is_bound and form.is_valid():
        values = form.cleaned_data
        try:
            outcome = lifecycle.open_incident(
                values["channel"],
                Actor(request.user, ActionSource.WEB),
                title=values["title"],
                description=values["description"],
                severity=values["severity"],
                page=list(values["page"]),
            )
        except PermissionDenied:  # membership lost since the form was drawn
            form.add_error("channel", gettext("You are not a member of this channel."))
        except lifecycle.InvalidRequest as invalid:
            form.add_error(None, invalid.message)
        else:
            messages.success(request, DONE["open"])
            return redirect("incident-detail", public_id=outcome.incident.public_id)
    context = {"form": form, "has_channels": form.fields["channel"].queryset.exists()}
    return render(
        request, "oncall/incident_new.html", context, status=400 if form.is_bound else 200
    )
