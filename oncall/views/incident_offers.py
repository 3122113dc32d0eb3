"""Running an action an incident offers from its page: ``/incidents/<id>/actions/<key>/``.

The actions come from ``oncall.offers`` (custom actions, quick silence, a war room). One that
asks for a confirmation is a question first (GET), like closing; its form's POST runs it, and an
action without one is a button that POSTs at once. Either way it runs through
``offers.run_action`` and the page comes back with what it did as a message (post, redirect,
get: a reload never runs it again).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from oncall import offers
from oncall.models import ActionSource, Incident
from oncall.permissions import visible_incidents
from oncall.timeline import Actor


@login_required
@require_http_methods(["GET", "POST"])
def run(request: HttpRequest, public_id: UUID, key: str) -> HttpResponse:
    incident = get_object_or_404(
        visible_incidents(request.user).select_related("channel"), public_id=public_id
    )
    offered = next((a for a in offers.incident_actions(incident) if a.key == key), None)
    if offered is None:
        raise Http404("The incident offers no such action.")
    if request.method == "GET":
        context = {"incident": incident, "action": offered, "people": _people(incident)}
        return render(request, "oncall/incident_offer_confirm.html", context)
    options = {"people": _chosen(request)} if offered.takes_people else {}
    try:
        result = offers.run_action(incident, key, Actor(request.user, ActionSource.WEB), options)
    except PermissionDenied as denied:
        messages.error(request, str(denied))
    except offers.InvalidOptions as invalid:
        messages.error(request, invalid.message)
    except offers.UnknownAction as unknown:
        messages.warning(request, str(unknown))
    else:
        (messages.success if result.ok else messages.error)(request, result.message)
    return redirect("incident-detail", public_id=incident.public_id)


def _people(incident: Incident) -> list[Any]:
    """Whom an action that takes people may name (``offers.eligible_people``), by name."""
    return list(offers.eligible_people(incident).order_by("first_name", "username"))


def _chosen(request: HttpRequest) -> list[int | str]:
    """The people the form named, by id; ``offers.run_action`` refuses anyone it may not name
    (and a value that is not an id)."""
    return [int(value) if value.isdigit() else value for value in request.POST.getlist("people")]


def offered_context(incident: Incident) -> dict[str, object]:
    """What the incident page shows of ``oncall.offers``: its links and its actions."""
    return {
        "offered_links": offers.incident_links(incident),
        "offered_actions": offers.incident_actions(incident),
    }
